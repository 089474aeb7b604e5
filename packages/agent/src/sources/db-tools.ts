/**
 * Running the database client tools (mysqldump, mysql, pg_dump, pg_dumpall, psql, pg_restore):
 * locating them, spawning them without a shell, and turning how they end into an operator-readable
 * error. A tool's stderr is the only account of what went wrong on the server, so it is kept (its
 * tail, bounded) and put into every error.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { DbToolError } from "../errors.js";
import { findExecutable } from "../info/tools.js";

export type DbTool = "mysqldump" | "mysql" | "pg_dumpall" | "pg_dump" | "psql" | "pg_restore";

const DEBIAN_PACKAGE: Record<DbTool, string> = {
  mysqldump: "mariadb-client (or default-mysql-client)",
  mysql: "mariadb-client (or default-mysql-client)",
  pg_dumpall: "postgresql-client",
  pg_dump: "postgresql-client",
  psql: "postgresql-client",
  pg_restore: "postgresql-client",
};

const STDERR_KEEP = 16 * 1024;

export async function locateTool(tool: DbTool): Promise<string> {
  const path = await findExecutable(tool);
  if (!path) throw new DbToolError(`${tool} is not installed on this node: install the Debian package ${DEBIAN_PACKAGE[tool]}`, "");
  return path;
}

export interface ToolCommand {
  tool: DbTool;
  args: string[];
  /** The whole environment of the child: credentials go here, never into args. */
  env: NodeJS.ProcessEnv;
  /** Run as this user and group instead of the agent's (the connection's runAs). */
  identity?: { uid: number; gid: number };
  /** Working directory; the agent's own when unset. */
  cwd?: string;
}

/** Environment passed to every tool: enough to run, nothing of the agent's own secrets. */
export function baseToolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

export interface RunningTool {
  child: ChildProcess;
  /** Resolves when the tool has exited and its stderr is drained; rejects with a DbToolError on failure. */
  done: Promise<{ stderr: string }>;
  /** Tail of stderr so far. */
  stderr(): string;
}

/** `stdout: "ignore"` for tools whose chatter nobody reads: an unread pipe would stall them. */
export async function startTool(cmd: ToolCommand, stdin: "pipe" | "ignore", what: string, stdout: "pipe" | "ignore" = "pipe"): Promise<RunningTool> {
  const path = await locateTool(cmd.tool);
  // With uid/gid, libuv also drops every supplementary group of the agent's before exec.
  const as = cmd.identity ? { uid: cmd.identity.uid, gid: cmd.identity.gid } : {};
  const child = spawn(path, cmd.args, { env: cmd.env, stdio: [stdin, stdout, "pipe"], shell: false, ...as, ...(cmd.cwd ? { cwd: cmd.cwd } : {}) });
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    err += d;
    if (err.length > 2 * STDERR_KEEP) err = err.slice(-STDERR_KEEP);
  });
  const tail = () => (err.length > STDERR_KEEP ? `…${err.slice(-STDERR_KEEP)}` : err).trim();
  const done = new Promise<{ stderr: string }>((resolve, reject) => {
    child.once("error", (e) => reject(new DbToolError(`${what}: cannot run ${cmd.tool}: ${e.message}`, "")));
    // "close" (not "exit") so stderr has been read to its end before it is reported.
    child.once("close", (code, signal) => {
      const text = tail();
      if (signal) reject(new DbToolError(`${what}: ${cmd.tool} was killed by ${signal}${text ? `: ${text}` : ""}`, text));
      else if (code !== 0) reject(new DbToolError(`${what}: ${cmd.tool} exited with status ${code}${text ? `: ${text}` : " (it printed nothing on stderr)"}`, text));
      else resolve({ stderr: text });
    });
  });
  // The caller may never await `done` when it fails earlier; the rejection is reported elsewhere.
  done.catch(() => undefined);
  return { child, done, stderr: tail };
}

/** Runs a short query-style command and returns its stdout (small outputs only: listings, checks). */
export async function runTool(cmd: ToolCommand, what: string, input?: string): Promise<string> {
  const t = await startTool(cmd, input === undefined ? "ignore" : "pipe", what);
  let out = "";
  t.child.stdout!.setEncoding("utf8");
  t.child.stdout!.on("data", (d: string) => (out += d));
  if (input !== undefined) t.child.stdin!.end(input);
  await t.done;
  return out;
}

/** Lines of a tool's stderr that report errors (as opposed to notices a tool prints on success). */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /\berror\b|\bfatal\b|\bpanic\b/i.test(l));
}
