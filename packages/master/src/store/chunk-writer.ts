/**
 * Durable chunk writes with group commit.
 *
 * A chunk is written to tmp/ without its own fsync; a checkpoint (every 64 MiB or 2 s, and at flush,
 * before a snapshot record is written) makes the pending ones durable with one syncfs and only then
 * links them into chunks/ (link, never rename: a chunk another process committed meanwhile is never
 * replaced) and fsyncs the directories touched. So a reader never sees a partial chunk, a crash
 * leaves at most garbage in tmp/, and a sealed snapshot never points at a chunk that a power loss
 * could take back. One fsync per chunk cost 5x the backup time on many small files
 * (docs/decisions.md, "Chunk store"). The checkpoint runs in the background while the next batch is
 * written; a batch that fills before it ends waits for it.
 */
import { closeSync, linkSync, mkdirSync, openSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { CodecName } from "@pullback/common";
import { chunkDir, chunkPath, encodeHeader, HEADER_BYTES } from "./chunk-layout.js";
import { syncFileSystem, writeFully } from "./durable-io.js";
import { StoreFullError, StoreWriteError, storeWriteError } from "../errors.js";

/** Unique per process: tmp names need no randomness, only no collision with another writer. */
const TMP_TAG = `${process.pid}-${Date.now().toString(36)}`;
let tmpSeq = 0;

export interface CheckpointTuning {
  /** Start a checkpoint once this much is queued (default 64 MiB)… */
  checkpointBytes?: number;
  /** …or this long after the last one (default 2 s). */
  checkpointMs?: number;
}

export class ChunkWriter {
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
  private readonly checkpointBytes: number;
  private readonly checkpointMs: number;

  constructor(
    private readonly root: string,
    private readonly tmpDir: string,
    tuning: CheckpointTuning = {},
  ) {
    this.checkpointBytes = tuning.checkpointBytes ?? 64 * 1024 * 1024;
    this.checkpointMs = tuning.checkpointMs ?? 2000;
  }

  /** Written by this process and not yet visible under chunks/. */
  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  /** Writes the chunk file to tmp/ and queues it for the next checkpoint; returns its size. */
  async write(id: string, codec: CodecName, plainLen: number, data: Uint8Array): Promise<number> {
    const tmp = join(this.tmpDir, `${id}.${TMP_TAG}.${++tmpSeq}`);
    let fd: number;
    try {
      fd = openSync(tmp, "wx", 0o600);
    } catch (err) {
      throw storeWriteError(err, `chunk ${id}`);
    }
    try {
      writeFully(fd, [encodeHeader(codec, plainLen), data]);
    } catch (err) {
      closeSync(fd);
      unlinkSync(tmp);
      throw storeWriteError(err, `chunk ${id}`);
    }
    closeSync(fd);
    this.pending.set(id, tmp);
    this.queued.push([id, tmp]);
    this.queuedBytes += HEADER_BYTES + data.length;
    if (this.queuedBytes >= this.checkpointBytes || Date.now() - this.lastCheckpoint >= this.checkpointMs) {
      if (this.checkpointing) await this.checkpointing;
      this.startCheckpoint();
    }
    return HEADER_BYTES + data.length;
  }

  begin(): number {
    return this.failures.length;
  }

  checkSince(token: number): void {
    const failure = this.failures[token];
    if (failure) throw failure;
  }

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
            : new StoreWriteError(
                `cannot make new chunks durable in the store (${why}); this backup stops, earlier snapshots are untouched`,
                "check the store's disk, then run the backup again",
                { cause: err },
              ),
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
        const dir = chunkDir(this.root, id);
        if (!this.dirsMade.has(dir)) {
          mkdirSync(dir, { recursive: true });
          this.dirsMade.add(dir);
        }
        // link, not rename: a chunk another process stored meanwhile is never replaced.
        try {
          linkSync(tmp, chunkPath(this.root, id));
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
}
