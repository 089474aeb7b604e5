/**
 * The external tools an agent can use, reported by Info so the master can refuse a job early
 * ("mysqldump not installed on db1") instead of failing it halfway.
 */
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

export interface ToolInfo {
  name: string;
  /** Empty when not found. */
  path: string;
  version: string;
}

export const KNOWN_TOOLS = ["mysqldump", "mysql", "pg_dumpall", "pg_dump", "psql", "pg_restore", "qemu-img", "virsh", "mkfifo", "mknod"] as const;

export async function findExecutable(name: string, pathEnv = process.env.PATH ?? ""): Promise<string> {
  for (const dir of pathEnv.split(delimiter).filter(Boolean).concat("/usr/sbin", "/sbin")) {
    const p = join(dir, name);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return "";
}

function versionOf(path: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(path, ["--version"], { timeout: 5000 }, (_err, stdout, stderr) => {
      resolve(`${stdout}${stderr}`.split("\n").find((l) => l.trim())?.trim() ?? "");
    });
  });
}

export async function discoverTools(names: readonly string[] = KNOWN_TOOLS): Promise<ToolInfo[]> {
  return Promise.all(
    names.map(async (name) => {
      const path = await findExecutable(name);
      return { name, path, version: path ? await versionOf(path) : "" };
    }),
  );
}
