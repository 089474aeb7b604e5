/**
 * A real master and real agents on loopback for end-to-end tests: `pullback` CLI processes against a
 * throwaway catalog database, agents started from enrollment bundles with real certificates.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentProcess, MASTER_CLI, createTestDatabase, freePort, unpackBundle, type TestDatabase } from "@pullback/testkit";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class Testbed {
  readonly agents = new Map<string, { proc: AgentProcess; dir: string; port: number }>();

  private constructor(
    readonly dir: string,
    readonly home: string,
    readonly db: TestDatabase,
  ) {}

  /** `beforeInit` may prepare the master's home directory (e.g. mount a small file system there). */
  static async create(o: { beforeInit?: (home: string) => void } = {}): Promise<Testbed> {
    const dir = mkdtempSync(join(tmpdir(), "pullback-e2e-"));
    const db = await createTestDatabase();
    const tb = new Testbed(dir, join(dir, "master"), db);
    o.beforeInit?.(tb.home);
    tb.ok(["init"]);
    return tb;
  }

  /** Runs `pullback --home … ARGS` to completion. */
  cli(args: string[]): CliResult {
    const r = spawnSync(process.execPath, [MASTER_CLI, "--home", this.home, ...args], {
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: this.db.url, PULLBACK_LOG_LEVEL: "warn" },
      maxBuffer: 256 * 1024 * 1024,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Like cli() but starts the process and returns it (for killing it mid-job). */
  cliAsync(args: string[]): ChildProcess {
    return spawn(process.execPath, [MASTER_CLI, "--home", this.home, ...args], {
      env: { ...process.env, DATABASE_URL: this.db.url, PULLBACK_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  /**
   * Like cli() without blocking this process's event loop: needed when this process serves the
   * node the master will call (a hostile agent in the test process would never answer otherwise).
   */
  async cliAwait(args: string[]): Promise<CliResult> {
    const p = this.cliAsync(args);
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number>((resolve) => p.once("close", (c) => resolve(c ?? -1)));
    return { code, stdout, stderr };
  }

  ok(args: string[]): string {
    const r = this.cli(args);
    if (r.code !== 0) throw new Error(`pullback ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  json<T>(args: string[]): T {
    return JSON.parse(this.ok([...args, "--json"])) as T;
  }

  /**
   * A file source on the master's own machine (node "here", no agent): the master reads the
   * directory in-process. Returns the source's fresh, empty directory.
   */
  localSource(name: string): string {
    const dir = join(this.dir, `data-${name}`);
    mkdirSync(dir);
    if (this.cli(["node", "info", "here"]).code !== 0) this.ok(["node", "add", "here", "--local"]);
    this.ok(["source", "add", "here", name, "--path", dir]);
    return dir;
  }

  /** Enrolls a node, unpacks its bundle and starts its agent. */
  async addAgent(node: string, backupAllow: string[], restoreAllow: string[], extraYaml = ""): Promise<void> {
    const { dir, port } = await this.enroll(node, backupAllow, restoreAllow);
    if (extraYaml) appendFileSync(join(dir, "agent.yaml"), extraYaml);
    this.agents.set(node, { proc: new AgentProcess(join(dir, "agent.yaml")), dir, port });
    await this.startAgent(node);
  }

  /** Enrolls a node on a free loopback port and unpacks its bundle (config, certificate, key). */
  async enroll(node: string, backupAllow: string[], restoreAllow: string[]): Promise<{ dir: string; port: number }> {
    const port = await freePort();
    const agentDir = join(this.dir, `agent-${node}`);
    mkdirSync(agentDir);
    const bundle = join(this.dir, `${node}.tgz`);
    this.ok([
      "enroll", node,
      ...backupAllow.flatMap((d) => ["--allow", d]),
      ...restoreAllow.flatMap((d) => ["--restore-allow", d]),
      "--listen", `127.0.0.1:${port}`, "--address", `127.0.0.1:${port}`, "--out", bundle,
    ]);
    unpackBundle(bundle, agentDir);
    return { dir: agentDir, port };
  }

  /** The path of the agent's agent.yaml (tests append sections to it, then restart the agent). */
  agentConfigPath(node: string): string {
    return join(this.agents.get(node)!.dir, "agent.yaml");
  }

  async startAgent(node: string): Promise<void> {
    await this.agents.get(node)!.proc.start();
  }

  async stopAgent(node: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await this.agents.get(node)?.proc.stop(signal);
  }

  async destroy(): Promise<void> {
    for (const node of this.agents.keys()) await this.stopAgent(node, "SIGKILL");
    await this.db.drop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
