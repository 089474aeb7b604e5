/**
 * Path allowlists. Paths are compared after resolving symlinks, so an allowed "/srv" with a symlink
 * "/srv/x -> /etc" does not allow reading /etc, and a restore target that does not exist yet is
 * judged by its nearest existing ancestor.
 */
import { realpath } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { NotAllowedError } from "../errors.js";


function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function realOrNearest(p: string): Promise<string> {
  const abs = resolve(p);
  try {
    return await realpath(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const parent = dirname(abs);
    if (parent === abs) return abs;
    return join(await realOrNearest(parent), basename(abs));
  }
}

/** Returns the resolved path when it lies in one of `allowed`; throws with the reason otherwise. */
export async function checkAllowed(kind: "backup" | "restore", requested: string, allowed: readonly string[]): Promise<string> {
  if (!requested.startsWith("/")) throw new NotAllowedError(`${kind} path ${JSON.stringify(requested)} is not absolute`, "give an absolute path");
  const real = await realOrNearest(requested);
  for (const a of allowed) {
    const root = await realOrNearest(a);
    if (isUnder(real, root)) return real;
  }
  const list = allowed.length ? allowed.join(", ") : "(none)";
  throw new NotAllowedError(
    `${kind} of ${requested}${real !== resolve(requested) ? ` (resolves to ${real})` : ""} is not allowed on this node; ` +
      `the agent config's ${kind}.allow lists ${list}`,
    `add it to ${kind}.allow in the agent config, or choose a path under one listed there`,
  );
}
