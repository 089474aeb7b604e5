/**
 * Running a connection's client tools as an unprivileged user (`runAs` in the agent config). A dump
 * is hostile input to the tool that replays it, and a tool run as root can do whatever a flaw in it
 * lets the dump do; run as a user that owns nothing, it can only reach the server it talks to.
 *
 * Credential files stay readable by root only: the agent reads them and hands a copy to the tools in
 * a private directory the user owns (its HOME and working directory too, so no file of root's is
 * read or written), removed when the connection is done.
 */
import { execFile } from "node:child_process";
import { chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DbConfigError } from "../errors.js";

export interface ToolIdentity {
  user: string;
  uid: number;
  gid: number;
}

/** The user's uid and primary gid, as the system's user database (NSS, not just /etc/passwd) says. */
export async function resolveRunAs(user: string, connection: string): Promise<ToolIdentity> {
  const line = await new Promise<string>((resolve) => {
    execFile("getent", ["passwd", "--", user], { timeout: 10_000 }, (err, stdout) => resolve(err ? "" : stdout.split("\n")[0] ?? ""));
  });
  const [, , uid, gid] = line.split(":");
  if (uid === undefined || gid === undefined || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) {
    throw new DbConfigError(
      `connection ${connection}: runAs user ${JSON.stringify(user)} does not exist on this node; create it ` +
        `(useradd --system --no-create-home --shell /usr/sbin/nologin ${user}) or remove runAs from databases.${connection}`,
    );
  }
  return { user, uid: Number(uid), gid: Number(gid) };
}

export interface PrivateDir {
  /** Made on first use: most connections without runAs never need one. */
  path(): Promise<string>;
  dispose(): Promise<void>;
}

/** A fresh directory only `owner` (or, without one, only the agent) can enter. */
export function privateDir(owner: ToolIdentity | undefined): PrivateDir {
  let made: Promise<string> | undefined;
  const make = async () => {
    const path = await mkdtemp(join(tmpdir(), "pullback-db-"));
    try {
      if (owner) await chown(path, owner.uid, owner.gid);
    } catch (err) {
      await rm(path, { recursive: true, force: true });
      throw new DbConfigError(`cannot give a private directory to runAs user ${owner!.user}: ${(err as Error).message} (runAs needs an agent running as root)`);
    }
    return path;
  };
  return {
    path: () => (made ??= make()),
    dispose: async () => {
      const path = await made?.catch(() => undefined);
      if (path) await rm(path, { recursive: true, force: true });
    },
  };
}

/** Writes a credential file (mode 0600) in `dir`, owned by whoever runs the tools. */
export async function writeCredential(dir: string, name: string, text: string, owner: ToolIdentity | undefined): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text, { mode: 0o600, flag: "wx" });
  if (owner) await chown(file, owner.uid, owner.gid);
  return file;
}

/** Reads a credential file the agent may read and the tools' user may not. */
export async function readCredential(file: string, what: string, connection: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new DbConfigError(
      `connection ${connection}: cannot read its ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      `check that the file exists and the agent may read it, or change databases.${connection} in the agent config`,
    );
  }
}
