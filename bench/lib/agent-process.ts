/**
 * One real `pullback-agent serve` process on loopback, started from an enrollment bundle. Its peak
 * memory is read from /proc (VmHWM) because it is a long-lived server, not a command /usr/bin/time
 * can wrap; restarting it before each measured step makes that peak the step's own.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const AGENT_CLI = fileURLToPath(new URL("../../../packages/agent/dist/src/cli.js", import.meta.url));

const START_TIMEOUT_MS = 15_000;

/** Agents still running: killed when the benchmark exits by any path, failure or signal included. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export class AgentProcess {
  private proc: ChildProcess | null = null;

  constructor(private readonly configPath: string) {}

  get pid(): number | null {
    return this.proc?.pid ?? null;
  }

  async start(): Promise<void> {
    await this.stop();
    const proc = spawn(process.execPath, [AGENT_CLI, "serve", "--config", this.configPath], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, PULLBACK_LOG_LEVEL: "info" },
    });
    this.proc = proc;
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    let err = "";
    proc.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!/agent listening/.test(err)) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`agent exited at start: ${err.trim()}`);
      if (Date.now() > deadline) throw new Error(`agent did not start within ${START_TIMEOUT_MS} ms: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Peak resident set size of the running agent so far, in bytes. */
  peakRssBytes(): number {
    if (!this.proc?.pid) throw new Error("agent is not running");
    const status = readFileSync(join("/proc", String(this.proc.pid), "status"), "utf8");
    const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    if (!kib) throw new Error("no VmHWM in the agent's /proc status");
    return Number(kib) * 1024;
  }

  /** SIGTERM, then SIGKILL after a grace period; a no-op when not running. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
