/**
 * One real `pullback-agent serve` process on loopback, started from the agent.yaml of an unpacked
 * enrollment bundle, as tests and benchmarks run it. start() returns once the agent logs that it is
 * listening; stop() sends a signal and waits for the exit.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_CLI } from "./cli-paths.js";

const START_TIMEOUT_MS = 15_000;
/** After a polite signal, how long the agent may take to exit before it is killed. */
const STOP_GRACE_MS = 5000;

/** Agents still running: killed when this process exits by any path, failure or signal included. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export interface AgentProcessOptions {
  /** Node flags before the CLI (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Added to this process's environment for the agent. */
  env?: NodeJS.ProcessEnv;
}

export class AgentProcess {
  private proc: ChildProcess | null = null;

  constructor(
    readonly configPath: string,
    private readonly options: AgentProcessOptions = {},
  ) {}

  /** Starts the agent (stopping a running one first) and waits until it listens. */
  async start(): Promise<void> {
    await this.stop();
    const proc = spawn(process.execPath, [...(this.options.nodeFlags ?? []), AGENT_CLI, "serve", "--config", this.configPath], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...this.options.env },
    });
    this.proc = proc;
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    let err = "";
    proc.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!/agent listening/.test(err)) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`agent (${this.configPath}) exited at start: ${err.trim()}`);
      if (Date.now() > deadline) throw new Error(`agent (${this.configPath}) did not start within ${START_TIMEOUT_MS} ms: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Peak resident set size of the running agent so far, in bytes (VmHWM: a server, not a command /usr/bin/time can wrap). */
  peakRssBytes(): number {
    if (!this.proc?.pid) throw new Error("agent is not running");
    const status = readFileSync(join("/proc", String(this.proc.pid), "status"), "utf8");
    const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    if (!kib) throw new Error("no VmHWM in the agent's /proc status");
    return Number(kib) * 1024;
  }

  /** Sends `signal`, then SIGKILL if the agent has not exited after a grace period; a no-op when not running. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}
