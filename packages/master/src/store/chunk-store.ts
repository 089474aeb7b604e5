/**
 * The content-addressed chunk store: the one interface to chunks on the master's disk. Callers name
 * chunks by id only; where a chunk lives and how its file is laid out is chunk-layout.ts, how it
 * becomes durable is chunk-writer.ts (group commit), where damaged ones go is chunk-quarantine.ts.
 * An existing chunk is never rewritten: its name is its content.
 */
import { readFileSync, unlinkSync } from "node:fs";
import { decodeVerified, DamagedChunkError, type CodecName } from "@pullback/common";
import { ChunkQuarantine } from "./chunk-quarantine.js";
import { chunkFileStat, chunkIdsUnder, chunkPath, parseChunkFile, type RawChunk } from "./chunk-layout.js";
import { ChunkWriter, type CheckpointTuning } from "./chunk-writer.js";
import { CorruptChunkError, MissingChunkError } from "../errors.js";

export interface PutResult {
  /** False when the chunk was already stored (deduplicated). */
  written: boolean;
  /** Bytes the chunk file takes (header included); 0 when not written. */
  storedBytes: number;
}

export interface ChunkStoreDirs {
  /** Root of the ab/cd/<id> tree. */
  chunks: string;
  /** Partial writes; on the same file system as `chunks` (chunks are linked from here). */
  tmp: string;
  /** Where damaged chunks are set aside. */
  damaged: string;
}

export class ChunkStore {
  private readonly root: string;
  private readonly writer: ChunkWriter;
  private readonly quarantineDir: ChunkQuarantine;

  constructor(dirs: ChunkStoreDirs, tuning: CheckpointTuning = {}) {
    this.root = dirs.chunks;
    this.writer = new ChunkWriter(dirs.chunks, dirs.tmp, tuning);
    this.quarantineDir = new ChunkQuarantine(dirs.damaged);
  }

  /** The chunk's file; for tests and diagnostics only — everything else goes through the methods. */
  pathOf(id: string): string {
    return chunkPath(this.root, id);
  }

  // Small synchronous syscalls on purpose: through the thread pool each costs a round trip that,
  // paid per chunk, dominated backups of many small files (docs/decisions.md, "Chunk store").
  async has(id: string): Promise<boolean> {
    return this.writer.isPending(id) || chunkFileStat(this.root, id) !== undefined;
  }

  /**
   * Stores a chunk whose plain bytes the caller has already verified against `id`; `data` is the
   * encoded payload in `codec`. Durable and visible only after the next checkpoint (chunk-writer.ts);
   * a failed checkpoint surfaces through `checkSince`/`flush(token)` of the backups it concerns.
   */
  async put(id: string, codec: CodecName, plainLen: number, data: Uint8Array): Promise<PutResult> {
    if (await this.has(id)) return { written: false, storedBytes: 0 };
    return { written: true, storedBytes: await this.writer.write(id, codec, plainLen, data) };
  }

  /** A token for `checkSince`: taken when a backup starts writing. */
  begin(): number {
    return this.writer.begin();
  }

  /** Throws the first checkpoint failure since `begin` returned `token`. */
  checkSince(token: number): void {
    this.writer.checkSince(token);
  }

  /**
   * Makes everything stored so far durable and visible; called before a snapshot references it.
   * With a token, fails if any checkpoint failed since it was taken.
   */
  flush(token?: number): Promise<void> {
    return this.writer.flush(token);
  }

  /** The encoded chunk file, for sending as is; hash is NOT verified here. */
  async readRaw(id: string): Promise<RawChunk> {
    let file: Buffer;
    try {
      // Synchronous: four thread-pool round trips per chunk (open, stat, read, close) cost more than
      // the read itself for the small chunks that dominate restores of many files.
      file = readFileSync(this.pathOf(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new MissingChunkError(id);
      throw err;
    }
    return parseChunkFile(id, file);
  }

  /** Plain bytes of a chunk, verified against its id. */
  async get(id: string): Promise<Buffer> {
    const raw = await this.readRaw(id);
    try {
      return decodeVerified(id, raw.codec, raw.data, raw.plainLen);
    } catch (err) {
      if (err instanceof DamagedChunkError) throw new CorruptChunkError(id, err.detail);
      throw err;
    }
  }

  /** Every chunk id in the store (committed ones; not those still pending in this process). */
  ids(): AsyncIterable<string> {
    return chunkIdsUnder(this.root);
  }

  /** Bytes and modification time of a stored chunk's file, or undefined when it is not stored. */
  stat(id: string): { bytes: number; mtimeMs: number } | undefined {
    return chunkFileStat(this.root, id);
  }

  /** Deletes a chunk (garbage collection); returns the bytes freed, 0 if it was not there. */
  remove(id: string): number {
    const st = this.stat(id);
    if (!st) return 0;
    unlinkSync(this.pathOf(id));
    return st.bytes;
  }

  /**
   * Sets a damaged or missing chunk aside (`verify --repair`): its file moves to damaged/ (a marker
   * is left for a missing one), so the store no longer claims to hold it and the next backup that
   * meets the data stores it again. Snapshots that referenced it are whole again from then on.
   */
  quarantine(id: string): Promise<void> {
    return this.quarantineDir.setAside(id, this.pathOf(id));
  }

  /** Chunks set aside and not stored again since; those stored again meanwhile are forgotten here. */
  quarantined(): Promise<Set<string>> {
    return this.quarantineDir.list((id) => this.has(id));
  }
}
