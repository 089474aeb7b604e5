/**
 * Depth-first walk of a source tree in a stable order (parents before children, names sorted), so
 * manifests of an unchanged tree are identical and deduplicate. Never follows symlinks.
 */
import { lstat, readdir } from "node:fs/promises";
import { lstatSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";

export interface WalkItem {
  /** Relative to the root, POSIX separators; "" is the root itself. */
  path: string;
  abs: string;
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
  const rootStat = await lstat(root, { bigint: true });
  if (!rootStat.isDirectory()) throw new Error(`source path ${root} is not a directory`);
  yield { path: "", abs: root, stat: rootStat };
  yield* walkDir(root, "", exclude, onProblem);
}

async function* walkDir(
  abs: string,
  rel: string,
  exclude: ExcludeFn,
  onProblem: (p: WalkProblem) => void,
): AsyncGenerator<WalkItem> {
  let names: string[];
  try {
    names = (await readdir(abs)).sort(byteOrder);
  } catch (err) {
    onProblem({ path: rel || ".", message: `cannot list directory: ${(err as Error).message}` });
    return;
  }
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    if (exclude(childRel)) continue;
    const childAbs = join(abs, name);
    let st: BigIntStats;
    try {
      // lstatSync: see fs-source.ts on per-file thread-pool round trips.
      st = lstatSync(childAbs, { bigint: true });
    } catch (err) {
      onProblem({ path: childRel, message: `vanished or unreadable: ${(err as Error).message}` });
      continue;
    }
    yield { path: childRel, abs: childAbs, stat: st };
    if (st.isDirectory()) yield* walkDir(childAbs, childRel, exclude, onProblem);
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
