/**
 * A real Pullback master home (external throwaway catalog database) and one real agent on loopback,
 * enrolled with its own certificate, so every dump crosses mutually authenticated gRPC. Everything
 * it starts is registered for cleanup, also when the benchmark fails or is interrupted.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { AgentProcess, MASTER_CLI, createTestDatabase, freePort, unpackBundle } from "@pullback/testkit";
import { MY, PG } from "./db-sql.js";

/** Cleanup actions, run in reverse order by runCleanup() (once). */
const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
export function onCleanup(name: string, fn: () => Promise<void> | void): void {
  cleanups.push({ name, fn });
}
export async function runCleanup(log: (m: string) => void): Promise<void> {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    try {
      await c.fn();
    } catch (err) {
      log(`cleanup of ${c.name} failed: ${(err as Error).message}`);
    }
  }
}

/** The benchmark's PostgreSQL server (db-sql.ts's PG), as the role that creates the catalog database. */
function adminPgUrl(): string {
  return `postgresql://${encodeURIComponent(PG.user)}@${PG.host}:${PG.port}/postgres`;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export class Rig {
  private agent: AgentProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly home: string,
    readonly catalogUrl: string,
    readonly storeDir: string,
  ) {}

  /** A fresh home + catalog under `dir`, node `db1` enrolled and its agent running. */
  static async create(dir: string, label: string, agentNodeFlags: string[] = []): Promise<Rig> {
    const catalog = await createTestDatabase({ adminUrl: adminPgUrl(), prefix: `pullback_dbbench_${label}` });
    onCleanup(`catalog ${catalog.name}`, () => catalog.drop());
    mkdirSync(dir, { recursive: true });
    const home = join(dir, "master");
    const probe = new Rig(dir, home, catalog.url, "");
    const init = JSON.parse(probe.ok(["init", "--json"])) as { store: string };
    const rig = new Rig(dir, home, probe.catalogUrl, init.store);
    await rig.startAgent(agentNodeFlags);
    return rig;
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, DATABASE_URL: this.catalogUrl, PULLBACK_LOG_LEVEL: "warn" };
  }

  /** `pullback --home … ARGS`, synchronously (setup steps). */
  ok(args: string[]): string {
    const r = spawnSync(process.execPath, [MASTER_CLI, "--home", this.home, ...args], { encoding: "utf8", env: this.env(), maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`pullback ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** `pullback --home … ARGS`, timed, with optional extra Node flags (e.g. --cpu-prof). */
  run(args: string[], nodeFlags: string[] = []): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const p = spawn(process.execPath, [...nodeFlags, MASTER_CLI, "--home", this.home, ...args], { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      p.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20000)));
      p.on("error", reject);
      p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
    });
  }

  private async startAgent(nodeFlags: string[]): Promise<void> {
    const port = await freePort();
    const agentDir = join(this.dir, "agent");
    mkdirSync(agentDir, { recursive: true });
    const bundle = join(this.dir, "db1.agent-bundle.tar.gz");
    this.ok(["enroll", "db1", "--allow", join(this.dir, "nothing-to-back-up"), "--listen", `127.0.0.1:${port}`, "--address", `127.0.0.1:${port}`, "--out", bundle]);
    unpackBundle(bundle, agentDir);
    appendFileSync(
      join(agentDir, "agent.yaml"),
      `databases:
  maria:
    type: mysql
    host: ${MY.host}
    port: ${MY.port}
    user: ${MY.user}
  pg:
    type: postgres
    host: ${PG.host}
    port: ${PG.port}
    user: ${PG.user}
`,
    );
    this.agent = new AgentProcess(join(agentDir, "agent.yaml"), { nodeFlags });
    onCleanup("agent", () => this.stopAgent());
    await this.agent.start();
  }

  async stopAgent(): Promise<void> {
    await this.agent?.stop();
  }

  /**
   * The store on disk: its files (chunks, snapshot records) as apparent bytes, allocated bytes (a file
   * per chunk costs whole blocks) and count; and its directories apart (the two-level chunk fan-out
   * creates about one leaf directory per chunk in a young store, a block each).
   */
  storeSize(): StoreSize {
    const r = spawnSync("find", [this.storeDir, "-printf", "%y %s %b\\n"], { encoding: "utf8", maxBuffer: 256 << 20 });
    const z: StoreSize = { apparent: 0, allocated: 0, files: 0, dirs: 0, dirAllocated: 0 };
    for (const line of r.stdout.split("\n")) {
      const [type, size, blocks] = line.split(" ") as [string, string, string];
      if (type === "f") {
        z.apparent += Number(size);
        z.allocated += Number(blocks) * 512;
        z.files++;
      } else if (type === "d") {
        z.dirs++;
        z.dirAllocated += Number(blocks) * 512;
      }
    }
    return z;
  }
}

export interface StoreSize {
  apparent: number;
  allocated: number;
  files: number;
  dirs: number;
  dirAllocated: number;
}
