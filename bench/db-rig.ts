/**
 * A real Pullback master home (external throwaway catalog database) and one real agent on loopback,
 * enrolled with its own certificate, so every dump crosses mutually authenticated gRPC. Everything
 * it starts is registered for cleanup, also when the benchmark fails or is interrupted.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { MY, PG } from "./db-sql.js";

export const MASTER_CLI = fileURLToPath(new URL("../../packages/master/dist/src/cli.js", import.meta.url));
export const AGENT_CLI = fileURLToPath(new URL("../../packages/agent/dist/src/cli.js", import.meta.url));

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

export function adminPgUrl(db = "postgres"): string {
  return `postgresql://${encodeURIComponent(PG.user)}@${PG.host}:${PG.port}/${db}`;
}

export async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminPgUrl(), connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export class Rig {
  private agent: ChildProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly home: string,
    readonly catalogUrl: string,
    readonly storeDir: string,
  ) {}

  /** A fresh home + catalog under `dir`, node `db1` enrolled and its agent running. */
  static async create(dir: string, label: string, agentNodeFlags: string[] = []): Promise<Rig> {
    const catalog = `pullback_dbbench_${label}_${randomBytes(4).toString("hex")}`;
    await pgAdmin((c) => c.query(`CREATE DATABASE ${catalog}`));
    onCleanup(`catalog ${catalog}`, () => pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${catalog} WITH (FORCE)`)).then(() => undefined));
    mkdirSync(dir, { recursive: true });
    const home = join(dir, "master");
    const probe = new Rig(dir, home, adminPgUrl(catalog), "");
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
    const t = spawnSync("tar", ["-xzf", bundle, "-C", agentDir]);
    if (t.status !== 0) throw new Error(`cannot unpack the agent bundle: ${t.stderr}`);
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
    const proc = spawn(process.execPath, [...nodeFlags, AGENT_CLI, "serve", "--config", join(agentDir, "agent.yaml")], { stdio: ["ignore", "ignore", "pipe"] });
    this.agent = proc;
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    onCleanup("agent", () => this.stopAgent());
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    for (let i = 0; !/agent listening/.test(err); i++) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`agent exited at start: ${err.trim()}`);
      if (i > 300) throw new Error(`agent did not start within 15 s: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stopAgent(): Promise<void> {
    const proc = this.agent;
    this.agent = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
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

/** Agent processes must not outlive the benchmark, whatever ends it. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});
