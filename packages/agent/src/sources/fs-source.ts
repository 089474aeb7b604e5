/**
 * File-tree source: walks the tree, reads and chunks changed files, and emits chunk and entry events.
 * Only chunks the master does not already hold are compressed and emitted. Problems with single files
 * (vanished, unreadable, changed while read) become warnings: one bad file must not lose the backup
 * of all the others.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type BigIntStats } from "node:fs";
import { readlink } from "node:fs/promises";
import {
  chunkBuffer,
  chunkId,
  chunkStream,
  compressAsync,
  FILE_CHUNKING,
  ROOT_PATH,
  type BackupProgress,
  type ChunkRef,
  type CodecSpec,
  type Compressed,
  type Entry,
  type Hole,
  type PriorFile,
  type SourceEvent,
} from "@pullback/common";
import { sameFile } from "../safe-fs/dir-fd.js";
import { raceHook } from "../safe-fs/race-hook.js";
import { baseEntry, clampTimes, entryType, unchangedSince, withinCatalogLimits } from "./fs-entry.js";
import { makeExclude, walkTree, type ExcludeFn, type WalkProblem } from "./tree-walker.js";

export interface FsSourceSpec {
  root: string;
  excludes: readonly string[];
  codec: CodecSpec;
}

export interface FsBackupContext {
  /** True when the master already holds this chunk, so it need not be compressed or sent. */
  isKnown(id: string): boolean;
  /** Base snapshot's files for incremental/differential; null for a full backup (read everything). */
  prior: ReadonlyMap<string, PriorFile> | null;
  onProgress?(p: BackupProgress): void;
}

export async function* backupFsSource(spec: FsSourceSpec, ctx: FsBackupContext): AsyncGenerator<SourceEvent> {
  const warnings: WalkProblem[] = [];
  const sent = new Set<string>();
  const hardlinks = new Map<string, string>();
  const buffer = chunkBuffer(FILE_CHUNKING);
  const progress: BackupProgress = { files: 0, bytesRead: 0, currentPath: "" };

  const onProblem = (p: WalkProblem) => warnings.push(p);
  for await (const item of walkTree(spec.root, withinCatalogLimits(makeExclude(spec.excludes), onProblem), onProblem)) {
    while (warnings.length) {
      const w = warnings.shift()!;
      yield { kind: "warning", path: w.path, message: w.message };
    }
    const st = item.stat;
    const type = entryType(st);
    if (type === "socket") {
      yield { kind: "warning", path: item.path, message: "socket skipped (sockets cannot be backed up)" };
      continue;
    }
    // The root is recorded as "." so a restore can give the target the source root's metadata.
    const entry = baseEntry(item.path === "" ? ROOT_PATH : item.path, st, type);
    if (clampTimes(entry)) {
      yield { kind: "warning", path: item.path, message: "a time outside the years 1678..2261 was recorded as the nearest one the catalog holds" };
    }
    if (type === "symlink") {
      const vanished = await readTarget(entry, item.at);
      if (vanished !== null) {
        yield { kind: "warning", path: item.path, message: vanished };
        continue;
      }
    } else if (type === "chardev" || type === "blockdev") {
      entry.rdev = Number(st.rdev);
    } else if (type === "file") {
      if (isLaterHardlink(hardlinks, entry, st, item.path)) {
        yield { kind: "entry", entry, unchanged: false };
        continue;
      }
      entry.size = Number(st.size);
      progress.files++;
      progress.currentPath = item.path;
      if (ctx.prior && unchangedSince(ctx.prior.get(item.path), st)) {
        yield { kind: "entry", entry, unchanged: true };
        continue;
      }
      // Read the file; warnings instead of errors so one bad file does not fail the whole backup.
      if (raceHook.beforeOpen) await raceHook.beforeOpen("file", item.path);
      // Delegated at this level, not from a per-file helper: one more generator layer would cost every chunk.
      const result = yield* readFileChunks(item.at, st, spec.codec, ctx, sent, buffer, progress);
      if ("warning" in result) {
        hardlinks.delete(`${st.dev}:${st.ino}`);
        yield { kind: "warning", path: item.path, message: result.warning };
        continue;
      }
      if (withContent(entry, result)) yield { kind: "warning", path: item.path, message: "file changed while it was read; its copy may be inconsistent" };
    }
    yield { kind: "entry", entry, unchanged: false };
  }
  for (const w of warnings) yield { kind: "warning", path: w.path, message: w.message };
}

/** Fills in a symlink's target; the warning when it vanished since the walk saw it, else null. */
async function readTarget(entry: Entry, at: string): Promise<string | null> {
  try {
    entry.target = await readlink(at);
    return null;
  } catch (err) {
    return `symlink vanished: ${(err as Error).message}`;
  }
}

/**
 * A file with more than one link is read once: a later path to the same inode becomes a hardlink
 * entry pointing at the first (true, `entry` rewritten); the first path is remembered (false).
 */
function isLaterHardlink(hardlinks: Map<string, string>, entry: Entry, st: BigIntStats, path: string): boolean {
  if (st.nlink <= 1n) return false;
  const key = `${st.dev}:${st.ino}`;
  const first = hardlinks.get(key);
  if (first === undefined) {
    hardlinks.set(key, path);
    return false;
  }
  entry.type = "hardlink";
  entry.target = first;
  return true;
}

/** Records what reading the file found; true when it changed while it was read. */
function withContent(entry: Entry, read: FileRead): boolean {
  entry.size = read.size;
  entry.chunks = read.chunks;
  if (read.holes.length) entry.holes = read.holes;
  return read.changed;
}

let lastTurn = Date.now();
/**
 * Reads are synchronous and a run of zeros or of already-stored chunks yields nothing, so without
 * this a large sparse or unchanged file would starve timers and the network for minutes: no
 * heartbeat (the master's idle timeout would cut a healthy backup), no keepalive answer, no cancel.
 */
async function letEventLoopIn(): Promise<void> {
  if (Date.now() - lastTurn < 50) return;
  await new Promise((resolve) => setImmediate(resolve));
  lastTurn = Date.now();
}

/**
 * Chunks being compressed on the thread pool while the next pieces are read, chunked and hashed.
 * Four keep the second core busy; at most 4 × 4 MiB (the largest chunk) twice over in memory.
 */
const COMPRESS_AHEAD = 4;

interface Compressing {
  id: string;
  plainLen: number;
  done: Promise<Compressed>;
}

async function chunkEvent(c: Compressing): Promise<SourceEvent> {
  const { codec, data } = await c.done;
  return { kind: "chunk", id: c.id, codec, plainLen: c.plainLen, data };
}

interface FileRead {
  size: number;
  chunks: ChunkRef[];
  holes: Hole[];
  changed: boolean;
}
type ReadResult = FileRead | { warning: string };

// Kept whole (63 lines): the per-chunk hot loop, and the fd and the compressions in flight share
// one try/finally that must close the one and detach the others however the read ends.
async function* readFileChunks(
  at: string,
  before: BigIntStats,
  codec: CodecSpec,
  ctx: FsBackupContext,
  sent: Set<string>,
  buffer: Buffer,
  progress: BackupProgress,
): AsyncGenerator<SourceEvent, ReadResult> {
  // Synchronous syscalls on purpose: a thread-pool round trip per open/stat/read/close made backups
  // of many small files wait more than they worked. Reads are at most one buffer (a few ms).
  let fd: number;
  try {
    // Opened inside the parent's open descriptor (`at`), so no directory above it can be swapped.
    // O_NOFOLLOW: refuse a symlink swapped in since the lstat; O_NONBLOCK: a FIFO must not hang us.
    fd = openSync(at, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return { warning: `cannot open: ${(err as Error).message}` };
  }
  const compressing: Compressing[] = [];
  try {
    const opened = fstatSync(fd, { bigint: true });
    if (!sameFile(opened, before) || !opened.isFile()) return { warning: "changed during backup (replaced between listing and reading), skipped" };
    const chunks: ChunkRef[] = [];
    const holes: Hole[] = [];
    let size = 0;
    const fill = async (buf: Buffer, off: number, len: number) => {
      await letEventLoopIn();
      const n = readSync(fd, buf, off, len, null);
      progress.bytesRead += n;
      return n;
    };
    for await (const piece of chunkStream(fill, { params: FILE_CHUNKING, detectHoles: true, buffer })) {
      if (piece.kind === "hole") {
        holes.push({ off: piece.offset, len: piece.length });
        size = piece.offset + piece.length;
        continue;
      }
      const id = chunkId(piece.data);
      if (!sent.has(id) && !ctx.isKnown(id)) {
        sent.add(id);
        // A copy: the piece is a view into the read buffer, which the next read overwrites while
        // another thread compresses.
        const done = compressAsync(Buffer.from(piece.data), codec);
        compressing.push({ id, plainLen: piece.data.length, done });
        if (compressing.length >= COMPRESS_AHEAD) yield await chunkEvent(compressing.shift()!);
      }
      chunks.push({ id, off: piece.offset, len: piece.data.length });
      size = piece.offset + piece.data.length;
      ctx.onProgress?.(progress);
    }
    while (compressing.length) yield await chunkEvent(compressing.shift()!);
    const after = fstatSync(fd, { bigint: true });
    const changed = after.mtimeNs !== before.mtimeNs || after.size !== BigInt(size);
    return { size, chunks, holes, changed };
  } catch (err) {
    return { warning: `read failed: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
    // Left behind by a failed read or a cancelled backup: nobody awaits them any more.
    for (const c of compressing) c.done.catch(() => undefined);
  }
}
