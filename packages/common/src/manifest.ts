/**
 * The manifest is the complete description of one snapshot: every entry with its metadata and the
 * chunks that hold its bytes. A restore needs this manifest and the chunks it names, never a chain of
 * earlier snapshots. It is serialised as NDJSON (one entry a line, sorted by path) and stored in the
 * chunk store like any data, so consecutive manifests of a source deduplicate against each other.
 */
import { DAMAGED_MANIFEST_HINT, DamagedDataError } from "./errors.js";

export type EntryType = "file" | "dir" | "symlink" | "hardlink" | "fifo" | "chardev" | "blockdev" | "socket";

export type BackupLevel = "full" | "differential" | "incremental";

/** A piece of a file: `len` plain bytes at `off`, stored as chunk `id` (hex SHA-256 of the plain bytes). */
export interface ChunkRef {
  id: string;
  off: number;
  len: number;
}

/** A run of zeros that is not stored and is restored as a hole. */
export interface Hole {
  off: number;
  len: number;
}

export interface Entry {
  /** Path relative to the source root, POSIX separators, never starting with "/" or containing "..". */
  path: string;
  type: EntryType;
  /** Permission bits and setuid/setgid/sticky (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  /** Times in nanoseconds since the epoch, as decimal strings (they exceed 2^53). */
  mtimeNs: string;
  atimeNs: string;
  ctimeNs: string;
  /** Apparent size in bytes (files); 0 otherwise. */
  size: number;
  /** Inode and device, kept only to let an incremental backup recognise unchanged files. */
  ino: number;
  dev: number;
  /** Symlink target (symlink) or the path of the first entry of the hardlink group (hardlink). */
  target?: string;
  /** Device number for char/block devices. */
  rdev?: number;
  chunks?: ChunkRef[];
  holes?: Hole[];
}

/** Totals of one snapshot, as recorded in the snapshot record and the catalog. */
export interface SnapshotStats {
  files: number;
  dirs: number;
  otherEntries: number;
  /** Logical size of all files (apparent size, holes included). */
  bytesTotal: number;
  /** Bytes the agent actually read from disk (or from the dump tool). */
  bytesRead: number;
  /** Plain bytes of chunks that were new to the store. */
  bytesNew: number;
  /** Bytes those new chunks take in the store after compression. */
  bytesStored: number;
  /** Bytes that crossed the wire (chunk payloads), 0 for in-process backups. */
  bytesSent: number;
  chunksTotal: number;
  chunksNew: number;
  warnings: number;
}

/**
 * Self-describing record of a sealed snapshot, written to store/snapshots/<node>/<source>/<time>-<id>.json.
 * Together with the chunks it is enough to restore and to rebuild the catalog.
 */
export interface SnapshotRecord {
  format: "pullback-snapshot/1";
  id: string;
  node: string;
  source: string;
  sourceType: "fs" | "mysql" | "postgres" | "image";
  level: BackupLevel;
  /** What the job asked for; differs from `level` when no base existed and a full was run instead. */
  requestedLevel: BackupLevel;
  /** Snapshot this one was compared against (incremental: last snapshot; differential: last full). */
  baseId: string | null;
  startedAt: string;
  finishedAt: string;
  codec: string;
  manifest: {
    /** Chunk ids of the NDJSON manifest, in order. */
    chunks: string[];
    entries: number;
    bytes: number;
    /** SHA-256 of the whole NDJSON manifest, checked when it is read back. */
    sha256: string;
  };
  stats: SnapshotStats;
  warnings: string[];
}

const ENTRY_TYPES: ReadonlySet<string> = new Set<EntryType>([
  "file",
  "dir",
  "symlink",
  "hardlink",
  "fifo",
  "chardev",
  "blockdev",
  "socket",
]);

/** One NDJSON line. Key order is fixed so identical entries serialise identically and deduplicate. */
export function encodeEntry(e: Entry): string {
  const o: Record<string, unknown> = {
    path: e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    user: e.user,
    group: e.group,
    mtimeNs: e.mtimeNs,
    atimeNs: e.atimeNs,
    ctimeNs: e.ctimeNs,
    size: e.size,
    ino: e.ino,
    dev: e.dev,
    target: e.target,
    rdev: e.rdev,
    chunks: e.chunks?.map((c) => [c.id, c.off, c.len]),
    holes: e.holes?.map((h) => [h.off, h.len]),
  };
  return JSON.stringify(o) + "\n";
}

function fail(line: number, why: string): never {
  throw new DamagedDataError(`manifest line ${line}: ${why}`, DAMAGED_MANIFEST_HINT);
}

/** Parses and validates one NDJSON line; the manifest came from disk, so nothing is trusted. */
export function decodeEntry(text: string, line: number): Entry {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    fail(line, "not JSON");
  }
  const str = (k: string): string => (typeof o[k] === "string" ? (o[k] as string) : fail(line, `field ${k} is not a string`));
  const int = (k: string): number =>
    Number.isSafeInteger(o[k]) && (o[k] as number) >= 0 ? (o[k] as number) : fail(line, `field ${k} is not a count`);
  const optStr = (k: string) => (o[k] === undefined ? undefined : str(k));
  const type = str("type");
  if (!ENTRY_TYPES.has(type)) fail(line, `unknown entry type ${type}`);
  const e: Entry = {
    path: str("path"),
    type: type as EntryType,
    mode: int("mode"),
    uid: int("uid"),
    gid: int("gid"),
    mtimeNs: str("mtimeNs"),
    atimeNs: str("atimeNs"),
    ctimeNs: str("ctimeNs"),
    size: int("size"),
    ino: int("ino"),
    dev: int("dev"),
  };
  const user = optStr("user");
  const group = optStr("group");
  const target = optStr("target");
  if (user !== undefined) e.user = user;
  if (group !== undefined) e.group = group;
  if (target !== undefined) e.target = target;
  if (o.rdev !== undefined) e.rdev = int("rdev");
  if (o.chunks !== undefined) {
    if (!Array.isArray(o.chunks)) fail(line, "chunks is not a list");
    e.chunks = (o.chunks as unknown[]).map((c) => {
      if (!Array.isArray(c) || c.length !== 3 || typeof c[0] !== "string" || !/^[0-9a-f]{64}$/.test(c[0])) {
        fail(line, "bad chunk reference");
      }
      const [id, off, len] = c as [string, unknown, unknown];
      if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || (len as number) <= 0) fail(line, "bad chunk extent");
      return { id, off: off as number, len: len as number };
    });
  }
  if (o.holes !== undefined) {
    if (!Array.isArray(o.holes)) fail(line, "holes is not a list");
    e.holes = (o.holes as unknown[]).map((h) => {
      if (!Array.isArray(h) || h.length !== 2 || !Number.isSafeInteger(h[0]) || !Number.isSafeInteger(h[1])) {
        fail(line, "bad hole");
      }
      return { off: h[0] as number, len: h[1] as number };
    });
  }
  return e;
}

/** Splits NDJSON text arriving in arbitrary pieces into entries. */
export class ManifestParser {
  private rest = "";
  private line = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  push(bytes: Uint8Array): Entry[] {
    const text = this.rest + this.decoder.decode(bytes, { stream: true });
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    return lines.map((l) => decodeEntry(l, ++this.line));
  }

  end(): Entry[] {
    const tail = this.rest + this.decoder.decode();
    this.rest = "";
    if (tail.length > 0) fail(this.line + 1, "truncated (no final newline)");
    return [];
  }
}
