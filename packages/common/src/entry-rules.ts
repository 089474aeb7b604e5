/**
 * What an entry may contain, checked where a node's entry enters the master (the snapshot writer)
 * and nowhere else decided. The limits are those of what stores and restores the entry: the
 * catalog (PostgreSQL TEXT has no NUL, BIGINT nanoseconds, INTEGER mode), the manifest (JSON) and
 * the file systems a restore writes to (PATH_MAX, NAME_MAX). An entry past them once sealed a
 * snapshot the catalog could not index, which stopped GC and prune for every node.
 */
import { EntryRuleError } from "./errors.js";
import type { Entry, EntryType } from "./manifest.js";
import { checkRelativePath } from "./paths.js";

/**
 * Below PATH_MAX (4096): the catalog's B-tree index on (source, path) holds at most 2704 bytes a
 * row, and a path of random-looking bytes does not compress. 2560 leaves room for the other columns.
 */
export const MAX_PATH_BYTES = 2560;
/** Symlink targets are not indexed: PATH_MAX. */
export const MAX_TARGET_BYTES = 4096;
export const MAX_NAME_BYTES = 255;
/** User and group names: far beyond any real system's, small enough for one catalog row. */
export const MAX_OWNER_NAME_BYTES = 256;
/** 2^32 - 1 is (uid_t)-1, "no owner" to chown; anything above is not an id. */
export const MAX_ID = 2 ** 32 - 2;
/**
 * Whole years whose nanoseconds fit PostgreSQL's BIGINT (int64 spans 1677-09-21 .. 2262-04-11).
 * Times before 1970 are negative and legitimate (old archives).
 */
export const MIN_TIME_NS = BigInt(Date.UTC(1678, 0, 1)) * 1_000_000n;
export const MAX_TIME_NS = BigInt(Date.UTC(2262, 0, 1)) * 1_000_000n - 1n;

/** st_mode's type bits (S_IFMT) for each entry type; an agent may send them along with 0o7777. */
const TYPE_BITS: Record<EntryType, number> = {
  file: 0o100000,
  hardlink: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  chardev: 0o020000,
  blockdev: 0o060000,
  socket: 0o140000,
};

/** Drops st_mode type bits when they are exactly those of `type`; other high bits stay, to be refused. */
export function permissionBits(type: string, mode: number): number {
  const bits = TYPE_BITS[type as EntryType];
  return bits !== undefined && mode >= 0 && Math.floor(mode / 0o10000) * 0o10000 === bits ? mode % 0o10000 : mode;
}

function checkText(field: string, v: string, maxBytes: number): void {
  if (v.includes("\0")) throw new EntryRuleError(field, v, "contains a NUL byte");
  const bytes = Buffer.byteLength(v, "utf8");
  if (bytes > maxBytes) throw new EntryRuleError(field, v, `is ${bytes} bytes long; at most ${maxBytes} are allowed`);
}

function checkCount(field: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new EntryRuleError(field, v, `is not an integer in 0..${max}`);
}

function checkTime(field: string, v: string): void {
  if (typeof v !== "string" || !/^-?\d{1,20}$/.test(v)) throw new EntryRuleError(field, v, "is not a decimal number of nanoseconds");
  const ns = BigInt(v);
  if (ns < MIN_TIME_NS || ns > MAX_TIME_NS) throw new EntryRuleError(field, v, "is outside the years 1678..2261 the catalog can hold");
}

function checkPath(field: string, p: string): void {
  checkText(field, p, MAX_PATH_BYTES);
  const bad = checkRelativePath(p);
  if (bad) throw new EntryRuleError(field, p, `is not a plain relative path: ${bad}`);
  for (const part of p.split("/")) {
    if (Buffer.byteLength(part, "utf8") > MAX_NAME_BYTES) throw new EntryRuleError(field, p, `has a component longer than ${MAX_NAME_BYTES} bytes`);
  }
}

/**
 * Throws an EntryRuleError naming the first field that breaks a rule. Relations between entries
 * (walk order, hardlink targets being earlier files, chunks tiling the size) are the writer's.
 */
export function checkEntry(e: Entry): void {
  checkPath("path", e.path);
  if (!(e.type in TYPE_BITS)) throw new EntryRuleError("type", e.type, "is not an entry type");
  if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) {
    throw new EntryRuleError("mode", e.mode, `is not permission bits (0..0o7777, or with the type bits of a ${e.type})`);
  }
  checkCount("uid", e.uid, MAX_ID);
  checkCount("gid", e.gid, MAX_ID);
  if (e.user !== undefined) checkText("user", e.user, MAX_OWNER_NAME_BYTES);
  if (e.group !== undefined) checkText("group", e.group, MAX_OWNER_NAME_BYTES);
  checkTime("mtimeNs", e.mtimeNs);
  checkTime("atimeNs", e.atimeNs);
  checkTime("ctimeNs", e.ctimeNs);
  checkCount("size", e.size);
  checkCount("ino", e.ino);
  checkCount("dev", e.dev);
  const isFile = e.type === "file";
  if (!isFile && e.size !== 0) throw new EntryRuleError("size", e.size, `must be 0 for a ${e.type}`);
  if (!isFile && (e.chunks?.length || e.holes?.length)) throw new EntryRuleError("chunks", e.chunks?.length ?? 0, `must be empty for a ${e.type}`);
  for (const c of e.chunks ?? []) {
    checkCount("chunks.off", c.off);
    checkCount("chunks.len", c.len);
  }
  for (const h of e.holes ?? []) {
    checkCount("holes.off", h.off);
    checkCount("holes.len", h.len);
  }
  const isDevice = e.type === "chardev" || e.type === "blockdev";
  if (isDevice) checkCount("rdev", e.rdev ?? -1);
  else if (e.rdev !== undefined) throw new EntryRuleError("rdev", e.rdev, `is only for devices, not a ${e.type}`);
  if (e.type === "symlink") {
    if (e.target === undefined || e.target === "") throw new EntryRuleError("target", e.target, "is required for a symlink");
    checkText("target", e.target, MAX_TARGET_BYTES);
  } else if (e.type === "hardlink") {
    if (e.target === undefined) throw new EntryRuleError("target", e.target, "is required for a hardlink");
    checkPath("target", e.target);
  } else if (e.target !== undefined) throw new EntryRuleError("target", e.target, `is only for symlinks and hardlinks, not a ${e.type}`);
}
