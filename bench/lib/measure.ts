/**
 * Runs one step of a tool as a child process under /usr/bin/time, so wall time and peak RSS are
 * measured the same way for every tool, Pullback included.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Command {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export interface Measured {
  seconds: number;
  peakRssBytes: number;
  stdout: string;
}

export const TIME_BIN = "/usr/bin/time";

export async function runMeasured(c: Command): Promise<Measured> {
  // Untimed: write back what earlier steps left dirty, so each tool pays for making its own writes
  // durable only. Pullback's syncfs would otherwise flush the previous tool's repository too (a
  // backup of the small corpus took 2.6 s alone and 4.9 s after 1.5 GB of someone else's writes).
  spawnSync("sync");
  const dir = mkdtempSync(join(tmpdir(), "pullback-bench-"));
  const rssFile = join(dir, "rss");
  try {
    // -o keeps the measurement out of the tool's own stderr.
    const child = spawn(TIME_BIN, ["-f", "%M", "-o", rssFile, c.cmd, ...c.args], {
      cwd: c.cwd,
      env: { ...process.env, ...c.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const t0 = process.hrtime.bigint();
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (code !== 0) throw new Error(`${c.cmd} ${c.args.join(" ")} exited with ${code}:\n${stderr.trim()}`);
    // GNU time prints "Command exited…" lines before the value when the child fails; take the last line.
    const kib = Number(readFileSync(rssFile, "utf8").trim().split("\n").at(-1));
    return { seconds, peakRssBytes: kib * 1024, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
