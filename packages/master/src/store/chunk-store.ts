/**
 * Content-addressed chunk files: chunks/ab/cd/<sha256 of plain bytes>.
 *
 * A chunk is written to tmp/ without its own fsync; a checkpoint (group commit: every 64 MiB or 2 s,
 * and before a snapshot record is written) makes the pending ones durable with one syncfs and only
 * then links them into chunks/ (link, never rename: a chunk another process committed meanwhile is
 * never replaced) and fsyncs the directories touched. So a reader never sees a partial chunk, a crash
 * leaves at most garbage in tmp/, and a sealed snapshot never points at a chunk that a power loss
 * could take back. An existing chunk is never rewritten: its name is its content.
 */
import { execFile } from "node:child_process";
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync, writevSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { chunkId, decompress, type CodecName } from "@pullback/common";

const MAGIC = 0x5042434b; // "PBCK"
const VERSION = 1;
const HEADER = 12;
const CODECS: CodecName[] = ["none", "lz4", "zstd"];
/** Unique per process: tmp names need no randomness, only no collision with another writer. */
const TMP_TAG = `${process.pid}-${Date.now().toString(36)}`;
let tmpSeq = 0;

export class CorruptChunkError extends Error {
  constructor(
    readonly chunkId: string,
    why: string,
  ) {
    super(`chunk ${chunkId} is damaged (${why}); run \`pullback verify\` to list the affected snapshots and files`);
    this.name = "CorruptChunkError";
  }
}

/** The store's disk (or the master's quota on it) is full. */
export class StoreFullError extends Error {
  constructor(code: string, what: string) {
    super(
      `the store's disk is full (${code} while writing ${what}); this backup stops and earlier snapshots are intact. ` +
        "Free space there (`pullback prune --gc`, `pullback gc`) or enlarge it, then run the backup again: what was already stored is reused",
    );
    this.name = "StoreFullError";
  }
}

/** A write to the store failed: a full disk is named as such; anything else passes through. */
export function storeWriteError(err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return new StoreFullError(code, what);
  return err instanceof Error ? err : new Error(String(err));
}

export class MissingChunkError extends Error {
  constructor(readonly chunkId: string) {
    super(`chunk ${chunkId} is missing from the store; run \`pullback verify\` to list the affected snapshots and files`);
    this.name = "MissingChunkError";
  }
}

export interface PutResult {
  /** False when the chunk was already stored (deduplicated). */
  written: boolean;
  /** Bytes the chunk file takes (header included); 0 when not written. */
  storedBytes: number;
}

export class ChunkStore {
  private readonly dirsMade = new Set<string>();
  /** Written to tmp/ but not yet durable and visible: id → tmp path. */
  private readonly pending = new Map<string, string>();
  /** Pending chunks no checkpoint has taken yet, and their bytes. */
  private queued: [id: string, tmp: string][] = [];
  private queuedBytes = 0;
  private lastCheckpoint = Date.now();
  /** The checkpoint running in the background, if any; it never rejects (see `failures`). */
  private checkpointing: Promise<void> | null = null;
  /**
   * Why background checkpoints failed, in order. A backup notes how many there were when it began
   * (`begin`) and fails if any happened since (`checkSince`): its chunks, or ones it deduplicated
   * against, may have been in the failed batch. Backups begun later are not affected, so a daemon
   * recovers once the disk is fixed.
   */
  private readonly failures: Error[] = [];

  constructor(
    readonly root: string,
    private readonly tmpDir: string,
    /** Start a checkpoint once this much is queued or this much time has passed (see put). */
    private readonly checkpointBytes = 64 * 1024 * 1024,
    private readonly checkpointMs = 2000,
  ) {}

  pathOf(id: string): string {
    return join(this.root, id.slice(0, 2), id.slice(2, 4), id);
  }

  // Small synchronous syscalls on purpose: through the thread pool each costs a round trip that,
  // paid per chunk, dominated backups of many small files (docs/decisions.md, "Chunk store").
  async has(id: string): Promise<boolean> {
    return this.pending.has(id) || statSync(this.pathOf(id), { throwIfNoEntry: false }) !== undefined;
  }

  /**
   * Stores a chunk whose plain bytes the caller has already verified against `id`; `data` is the
   * encoded payload in `codec`.
   *
   * Group commit: the chunk goes to tmp/ without an fsync of its own. Every 64 MiB or 2 s (and at
   * flush) one syncfs makes the queued chunks durable, and only then are they linked into chunks/.
   * So a file under chunks/ is always complete, and a crash loses at most the chunks since the last
   * checkpoint, never the integrity of the ones before it. One fsync per chunk cost 5x the backup
   * time on many small files (docs/decisions.md, "Chunk store"). The checkpoint runs in the
   * background while the next batch is written; a batch that fills before it ends waits for it. A
   * failed checkpoint surfaces through `checkSince`/`flush(token)` of the backups it concerns.
   */
  async put(id: string, codec: CodecName, plainLen: number, data: Uint8Array): Promise<PutResult> {
    if (await this.has(id)) return { written: false, storedBytes: 0 };
    const header = Buffer.alloc(HEADER);
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt8(VERSION, 4);
    header.writeUInt8(CODECS.indexOf(codec), 5);
    header.writeUInt32BE(plainLen, 8);
    const tmp = join(this.tmpDir, `${id}.${TMP_TAG}.${++tmpSeq}`);
    let fd: number;
    try {
      fd = openSync(tmp, "wx", 0o600);
    } catch (err) {
      throw storeWriteError(err, `chunk ${id}`);
    }
    try {
      writeFully(fd, [header, data]);
    } catch (err) {
      closeSync(fd);
      unlinkSync(tmp);
      throw storeWriteError(err, `chunk ${id}`);
    }
    closeSync(fd);
    this.pending.set(id, tmp);
    this.queued.push([id, tmp]);
    this.queuedBytes += HEADER + data.length;
    if (this.queuedBytes >= this.checkpointBytes || Date.now() - this.lastCheckpoint >= this.checkpointMs) {
      if (this.checkpointing) await this.checkpointing;
      this.startCheckpoint();
    }
    return { written: true, storedBytes: HEADER + data.length };
  }

  /** A token for `checkSince`: taken when a backup starts writing. */
  begin(): number {
    return this.failures.length;
  }

  /** Throws the first checkpoint failure since `begin` returned `token`. */
  checkSince(token: number): void {
    const failure = this.failures[token];
    if (failure) throw failure;
  }

  /**
   * Makes everything stored so far durable and visible; called before a snapshot references it.
   * With a token, fails if any checkpoint failed since it was taken.
   */
  async flush(token?: number): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
    this.startCheckpoint();
    while (this.checkpointing) await this.checkpointing;
    if (token !== undefined) this.checkSince(token);
  }

  private startCheckpoint(): void {
    if (this.checkpointing || this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.lastCheckpoint = Date.now();
    this.checkpointing = this.commit(batch)
      .catch((err: unknown) => {
        // The batch's chunks are not in the store: forget them, so no later backup counts on them.
        for (const [id, tmp] of batch) {
          this.pending.delete(id);
          rmSync(tmp, { force: true });
        }
        const full = storeWriteError(err, "the chunk index directories");
        const why = err instanceof Error ? err.message : String(err);
        this.failures.push(
          full instanceof StoreFullError
            ? full
            : new Error(`cannot make new chunks durable in the store (${why}); this backup stops, earlier snapshots are untouched: check the store's disk and run it again`, { cause: err }),
        );
      })
      .finally(() => {
        this.checkpointing = null;
      });
  }

  /** Makes a batch durable, then visible under chunks/. */
  private async commit(batch: [id: string, tmp: string][]): Promise<void> {
    await syncFileSystem(this.tmpDir, batch.map(([, tmp]) => tmp));
    const dirs = new Set<string>();
    try {
      for (const [id, tmp] of batch) {
        const dir = join(this.root, id.slice(0, 2), id.slice(2, 4));
        if (!this.dirsMade.has(dir)) {
          mkdirSync(dir, { recursive: true });
          this.dirsMade.add(dir);
        }
        // link, not rename: a chunk another process stored meanwhile is never replaced.
        try {
          linkSync(tmp, this.pathOf(id));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        dirs.add(dir);
        unlinkSync(tmp);
      }
    } finally {
      // Also after a failure: chunks already linked are visible, so their entries must be durable.
      await syncFileSystem(this.root, [...dirs]).catch(() => undefined);
    }
    for (const [id] of batch) this.pending.delete(id);
  }

  /** Where `quarantine` keeps damaged chunks (and markers for missing ones). */
  private get damagedDir(): string {
    return join(this.root, "..", "damaged");
  }

  /**
   * Sets a damaged or missing chunk aside (`verify --repair`): its file moves to damaged/ (a marker
   * is left for a missing one), so the store no longer claims to hold it and the next backup that
   * meets the data stores it again. Snapshots that referenced it are whole again from then on.
   */
  async quarantine(id: string): Promise<void> {
    mkdirSync(this.damagedDir, { recursive: true, mode: 0o700 });
    const aside = join(this.damagedDir, id);
    try {
      renameSync(this.pathOf(id), aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      closeSync(openSync(aside, "w", 0o600));
    }
    await syncFileSystem(this.damagedDir, [this.damagedDir, join(this.pathOf(id), "..")]);
  }

  /** Chunks set aside and not stored again since; those stored again meanwhile are forgotten here. */
  async quarantined(): Promise<Set<string>> {
    const out = new Set<string>();
    let names: string[];
    try {
      names = readdirSync(this.damagedDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return out;
      throw err;
    }
    for (const id of names) {
      if (await this.has(id)) unlinkSync(join(this.damagedDir, id));
      else out.add(id);
    }
    return out;
  }

  /** The encoded chunk file, for sending as is; hash is NOT verified here. */
  async readRaw(id: string): Promise<{ codec: CodecName; plainLen: number; data: Buffer }> {
    let file: Buffer;
    try {
      // Synchronous: four thread-pool round trips per chunk (open, stat, read, close) cost more than
      // the read itself for the small chunks that dominate restores of many files.
      file = readFileSync(this.pathOf(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new MissingChunkError(id);
      throw err;
    }
    if (file.length < HEADER || file.readUInt32BE(0) !== MAGIC || file.readUInt8(4) !== VERSION) {
      throw new CorruptChunkError(id, "bad header");
    }
    const codec = CODECS[file.readUInt8(5)];
    if (!codec) throw new CorruptChunkError(id, "unknown codec");
    return { codec, plainLen: file.readUInt32BE(8), data: file.subarray(HEADER) };
  }

  /** Plain bytes of a chunk, verified against its id. */
  async get(id: string): Promise<Buffer> {
    const raw = await this.readRaw(id);
    let plain: Buffer;
    try {
      plain = decompress(raw.codec, raw.data, raw.plainLen);
    } catch (err) {
      throw new CorruptChunkError(id, `cannot decode: ${(err as Error).message}`);
    }
    if (chunkId(plain) !== id) throw new CorruptChunkError(id, "content does not match its SHA-256");
    return plain;
  }
}

/**
 * Writes every byte or throws. writev may write only part and return the count, as it does on a
 * file system that fills up before it fails with ENOSPC; unchecked, that committed truncated
 * chunks (found by the full-disk test).
 */
function writeFully(fd: number, parts: Uint8Array[]): void {
  let done = writevSync(fd, parts);
  for (const part of parts) {
    if (done >= part.length) {
      done -= part.length;
      continue;
    }
    for (let off = done; off < part.length; ) off += writeSync(fd, part, off, part.length - off);
    done = 0;
  }
}

/**
 * syncfs(2) through coreutils' `sync -f`: one call makes all of a file system's dirty data durable,
 * where an fsync per file costs a journal commit each. Falls back to fsyncing `paths` one by one.
 */
async function syncFileSystem(anyPath: string, paths: string[]): Promise<void> {
  const ok = await new Promise<boolean>((resolve) => execFile("sync", ["-f", anyPath], (err) => resolve(!err)));
  if (ok) return;
  for (const p of paths) {
    const fh = await open(p, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
