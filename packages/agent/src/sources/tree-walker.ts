/**
 * Depth-first walk of a source tree in a stable order (parents before children, names sorted), so
 * manifests of an unchanged tree are identical and deduplicate. Never follows symlinks, also not one
 * swapped in for a directory during the walk: every directory is opened by name inside its already
 * opened parent (O_DIRECTORY|O_NOFOLLOW, see safe-fs/dir-fd.ts) and must still be the one listed.
 */
import { lstatSync, readdirSync, type BigIntStats } from "node:fs";
import picomatch from "picomatch";
import { ChangedError, SourcePathError } from "../errors.js";
import { DirFd } from "../safe-fs/dir-fd.js";
import { raceHook } from "../safe-fs/race-hook.js";

export interface WalkItem {
  /** Relative to the root, POSIX separators; "" is the root itself. */
  path: string;
  /**
   * Names the entry through its parent's open descriptor (the root: its own). Valid only until the
   * walk moves on; use it for readlink and open, with O_NOFOLLOW.
   */
  at: string;
  stat: BigIntStats;
}

export interface WalkProblem {
  path: string;
  message: string;
}

export type ExcludeFn = (relPath: string) => boolean;

/**
 * Globs as tar's --exclude uses them: a pattern without "/" matches any path component's name
 * ("*.tmp", "node_modules"); one with "/" matches the relative path from the root ("var/cache/**").
 */
export function makeExclude(patterns: readonly string[]): ExcludeFn {
  const byName = patterns.filter((p) => !p.includes("/")).map((p) => picomatch(p, { dot: true }));
  const byPath = patterns
    .filter((p) => p.includes("/"))
    .map((p) => picomatch(p.replace(/^\/+/, ""), { dot: true }));
  return (rel) => {
    const name = rel.slice(rel.lastIndexOf("/") + 1);
    return byName.some((m) => m(name)) || byPath.some((m) => m(rel));
  };
}

export async function* walkTree(
  root: string,
  exclude: ExcludeFn,
  onProblem: (p: WalkProblem) => void,
): AsyncGenerator<WalkItem> {
  const rootStat = lstatSync(root, { bigint: true });
  if (!rootStat.isDirectory()) {
    throw new SourcePathError(`source path ${root} is not a directory`, "give the fs source a directory as its path (`pullback source add NODE SOURCE --type fs --path DIR`)");
  }
  const dir = DirFd.openPath(root, rootStat);
  try {
    yield { path: "", at: dir.self, stat: rootStat };
    yield* walkDir(dir, "", exclude, onProblem);
  } finally {
    dir.close();
  }
}

async function* walkDir(
  dir: DirFd,
  rel: string,
  exclude: ExcludeFn,
  onProblem: (p: WalkProblem) => void,
): AsyncGenerator<WalkItem> {
  let names: string[];
  try {
    names = readdirSync(dir.self).sort(byteOrder);
  } catch (err) {
    onProblem({ path: rel || ".", message: `cannot list directory: ${(err as Error).message}` });
    return;
  }
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    if (exclude(childRel)) continue;
    const at = dir.at(name);
    let st: BigIntStats;
    try {
      // lstatSync: see fs-source.ts on per-file thread-pool round trips.
      st = lstatSync(at, { bigint: true });
    } catch (err) {
      onProblem({ path: childRel, message: `vanished or unreadable: ${(err as Error).message}` });
      continue;
    }
    yield { path: childRel, at, stat: st };
    if (!st.isDirectory()) continue;
    if (raceHook.beforeOpen) await raceHook.beforeOpen("dir", childRel);
    let child: DirFd;
    try {
      child = DirFd.openAt(dir, name, st);
    } catch (err) {
      const why = err instanceof ChangedError ? "changed during backup, skipped" : "cannot open directory";
      onProblem({ path: childRel, message: `${why}: ${(err as Error).message}` });
      continue;
    }
    try {
      yield* walkDir(child, childRel, exclude, onProblem);
    } finally {
      child.close();
    }
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
