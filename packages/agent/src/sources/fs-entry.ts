/**
 * What one file-tree entry looks like on the wire: its type, metadata and owner names from a stat,
 * kept within the bounds the master's catalog accepts (common/src/entry-rules.ts), and the test that
 * says an unchanged file need not be read again.
 */
import type { BigIntStats } from "node:fs";
import { MAX_PATH_BYTES, MAX_TIME_NS, MIN_TIME_NS, type Entry, type EntryType, type PriorFile } from "@pullback/common";
import { groupName, userName } from "./owner-names.js";
import type { ExcludeFn, WalkProblem } from "./tree-walker.js";

export function entryType(st: BigIntStats): EntryType {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isCharacterDevice()) return "chardev";
  if (st.isBlockDevice()) return "blockdev";
  return "socket";
}

export function baseEntry(path: string, st: BigIntStats, type: EntryType): Entry {
  const e: Entry = {
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtimeNs: st.mtimeNs.toString(),
    atimeNs: st.atimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
    size: 0,
    ino: Number(st.ino),
    dev: Number(st.dev),
  };
  const u = userName(e.uid);
  const g = groupName(e.gid);
  if (u !== undefined) e.user = u;
  if (g !== undefined) e.group = g;
  return e;
}

/**
 * The master refuses an entry its catalog cannot hold (entry-rules.ts) and fails the backup: an
 * honest node skips such a path, or records the nearest time the catalog can hold, with a warning,
 * so that one odd file does not cost the backup of all the others.
 */
export function withinCatalogLimits(exclude: ExcludeFn, warn: (p: WalkProblem) => void): ExcludeFn {
  return (rel) => {
    if (exclude(rel)) return true;
    const bytes = Buffer.byteLength(rel, "utf8");
    if (bytes <= MAX_PATH_BYTES) return false;
    warn({ path: rel, message: `not backed up: its path is ${bytes} bytes long, more than the ${MAX_PATH_BYTES} the catalog indexes (a directory is skipped with all it holds)` });
    return true;
  };
}

export function clampTimes(e: Entry): boolean {
  let clamped = false;
  for (const k of ["mtimeNs", "atimeNs", "ctimeNs"] as const) {
    const ns = BigInt(e[k]);
    const bounded = ns < MIN_TIME_NS ? MIN_TIME_NS : ns > MAX_TIME_NS ? MAX_TIME_NS : ns;
    if (bounded !== ns) {
      e[k] = bounded.toString();
      clamped = true;
    }
  }
  return clamped;
}

export function unchangedSince(prior: PriorFile | undefined, st: BigIntStats): boolean {
  return (
    prior !== undefined &&
    prior.size === Number(st.size) &&
    prior.mtimeNs === st.mtimeNs.toString() &&
    prior.ctimeNs === st.ctimeNs.toString() &&
    prior.ino === Number(st.ino)
  );
}
