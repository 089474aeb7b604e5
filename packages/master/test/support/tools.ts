import { spawnSync } from "node:child_process";

/** Fails (never skips) with the package to install when a tool the test relies on is missing. */
export function requireTool(cmd: string, debianPackage: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${cmd} is not installed: run \`apt-get install -y ${debianPackage}\` (or the README's test command)`);
  }
}

export function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** rsync's own verdict: empty output means the trees match in content, metadata, hardlinks, ACLs and xattrs. */
export function treeDifferences(a: string, b: string): string {
  requireTool("rsync", "rsync");
  return run("rsync", ["-aHAX", "--checksum", "--dry-run", "--itemize-changes", `${a}/`, `${b}/`]).trim();
}

/** Allocated size in KiB as du reports it. */
export function allocatedKiB(path: string): number {
  return Number(run("du", ["-sk", path]).split(/\s+/)[0]);
}
