/**
 * Turns the event stream of one backup into a sealed snapshot. Nothing from the node is trusted:
 * every chunk is decoded and re-hashed before it is stored, entry paths must be plain relative paths
 * in walk order, and every file's chunks and holes must tile it exactly. The snapshot record is
 * written last, after all chunks are durable, so a failure at any point leaves no snapshot behind
 * and never touches an existing one; the chunks already stored are simply reused by the next run.
 */
import { randomBytes } from "node:crypto";
import {
  checkEntry,
  EntryRuleError,
  showValue,
  ROOT_PATH,
  WarningList,
  decodeVerified,
  AGENT_CHUNK_LIMITS,
  DamagedChunkError,
  type BackupLevel,
  type CodecName,
  type CodecSpec,
  type Entry,
  type SnapshotRecord,
  type SnapshotStats,
  type SourceEvent,
} from "@pullback/common";
import { BackupRejectedError } from "../errors.js";
import { ManifestWriter } from "../store/manifest-io.js";
import type { Store } from "../store/store.js";

export interface SnapshotWriterOptions {
  node: string;
  source: string;
  sourceType: SnapshotRecord["sourceType"];
  level: BackupLevel;
  requestedLevel: BackupLevel;
  base: { record: SnapshotRecord; entries: ReadonlyMap<string, Entry> } | null;
  codec: CodecSpec;
  /**
   * Chunks a sealed snapshot of this source references (the plan's trusted set): the only chunks
   * an entry may name without the node sending them in this session. They were checked when that
   * snapshot was sealed; if GC deletes one while this backup runs, the check at seal
   * (backup-job.ts) fails the backup. Nothing else is looked up in the store: whether the store
   * holds some other node's chunk is not the node's business (see docs/decisions.md).
   */
  trusted?: ReadonlySet<string>;
  /**
   * Called whenever this session has added to the store (data or manifest chunks) with the stored
   * bytes it has added so far; throws to stop the backup (the node's quota, see node-quota.ts).
   */
  admitNewBytes?: (sessionBytes: number) => void;
}

export function newSnapshotId(): string {
  return randomBytes(8).toString("hex");
}

export class SnapshotWriter {
  readonly id = newSnapshotId();
  readonly startedAt = new Date();
  readonly stats: SnapshotStats = {
    files: 0,
    dirs: 0,
    otherEntries: 0,
    bytesTotal: 0,
    bytesRead: 0,
    bytesNew: 0,
    bytesStored: 0,
    bytesSent: 0,
    chunksTotal: 0,
    chunksNew: 0,
    warnings: 0,
  };
  /** Bounded: a node may send any number of warnings of any size. */
  readonly warnings = new WarningList();
  private readonly manifest: ManifestWriter;
  /** Chunks this snapshot may reference: received in this session or trusted (see the option). */
  private readonly present = new Set<string>();
  private readonly seen = new Set<string>();
  /** Store checkpoint failures after this mean chunks this snapshot counts on may be lost. */
  private readonly storeSession: number;
  private readonly files = new Set<string>();
  /** Data chunks this session wrote (not found already stored) → stored bytes. */
  private readonly written = new Map<string, number>();
  /** Stored bytes last reported to `admitNewBytes`. */
  private admitted = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: SnapshotWriterOptions,
  ) {
    this.storeSession = store.chunks.begin();
    this.manifest = new ManifestWriter(store.chunks, opts.codec);
  }

  async handle(ev: SourceEvent): Promise<void> {
    switch (ev.kind) {
      case "chunk":
        return this.addChunk(ev.id, ev.codec, ev.plainLen, ev.data);
      case "entry":
        await this.addEntry(ev.entry, ev.unchanged);
        return this.admitStored();
      case "warning":
        this.addWarning(ev.path, ev.message);
        return;
    }
  }

  /** Counts the warning; returns the line kept for it, or null once the job's quota is used up. */
  addWarning(path: string, message: string): string | null {
    this.stats.warnings++;
    return this.warnings.add(path, message);
  }

  async addChunk(id: string, codec: CodecName, plainLen: number, data: Buffer): Promise<void> {
    try {
      decodeVerified(id, codec, data, plainLen, AGENT_CHUNK_LIMITS);
    } catch (err) {
      if (!(err instanceof DamagedChunkError)) throw err;
      const why = err.fault === "hash-mismatch" ? "does not match its SHA-256" : `cannot be decoded (${err.detail})`;
      throw new BackupRejectedError(`chunk ${id} from the agent ${why}; nothing of it was stored`);
    }
    this.stats.bytesSent += data.length;
    const r = await this.store.chunks.put(id, codec, plainLen, data);
    this.store.chunks.checkSince(this.storeSession);
    if (r.written) {
      this.stats.chunksNew++;
      this.stats.bytesNew += plainLen;
      this.stats.bytesStored += r.storedBytes;
      this.written.set(id, r.storedBytes);
    }
    this.present.add(id);
    this.admitStored();
  }

  /** Reports growth of what this session stored, data and manifest, so a flood of entries counts too. */
  private admitStored(): void {
    const total = this.stats.bytesStored + this.manifest.bytesStored;
    if (total === this.admitted) return;
    this.admitted = total;
    this.opts.admitNewBytes?.(total);
  }

  /** The message must not depend on whether the store holds the chunk: that would answer "does this content exist?". */
  private ensurePresent(id: string, path: string): void {
    if (this.present.has(id)) return;
    if (!this.opts.trusted?.has(id)) {
      throw new BackupRejectedError(
        `entry ${path} references chunk ${id}, which the agent did not send in this backup and no earlier snapshot of this source holds; the agent must upload it`,
      );
    }
    this.present.add(id);
  }

  async addEntry(input: Entry, unchanged: boolean): Promise<void> {
    try {
      checkEntry(input);
    } catch (err) {
      if (!(err instanceof EntryRuleError)) throw err;
      const what = err.field === "path" ? "an entry" : `entry ${showValue(input.path)}`;
      throw new BackupRejectedError(`${what} rejected: ${err.message}; the node sent data no file system produces (a damaged or compromised agent?)`);
    }
    if (this.seen.has(input.path)) throw new BackupRejectedError(`entry ${input.path} sent twice`);
    const parent = input.path.includes("/") ? input.path.slice(0, input.path.lastIndexOf("/")) : "";
    if (input.path === ROOT_PATH && (this.seen.size > 0 || input.type !== "dir")) {
      throw new BackupRejectedError(`the root entry "." must be the first entry and a directory`);
    }
    if (parent !== "" && !this.seen.has(parent)) {
      throw new BackupRejectedError(`entry ${input.path} arrived before its directory ${parent}`);
    }
    let e = input;
    if (unchanged) {
      const prev = this.opts.base?.entries.get(input.path);
      if (!prev || prev.type !== "file" || input.type !== "file" || prev.size !== input.size) {
        throw new BackupRejectedError(`entry ${input.path} claims to be unchanged but the base snapshot has no such file`);
      }
      e = { ...input };
      if (prev.chunks) e.chunks = prev.chunks;
      if (prev.holes) e.holes = prev.holes;
    }
    if (e.type === "file") {
      this.checkTiling(e);
      this.files.add(e.path);
      this.stats.files++;
      this.stats.bytesTotal += e.size;
    } else if (e.type === "dir") this.stats.dirs++;
    else {
      this.stats.otherEntries++;
      if (e.type === "hardlink" && (!e.target || !this.files.has(e.target))) {
        throw new BackupRejectedError(`hardlink ${e.path} points at ${String(e.target)}, which is not an earlier file`);
      }
    }
    this.seen.add(e.path);
    await this.manifest.add(e);
  }

  /** Chunks and holes must cover [0, size) exactly, in order. */
  private checkTiling(e: Entry): void {
    const pieces = [
      ...(e.chunks ?? []).map((c) => ({ off: c.off, len: c.len, id: c.id })),
      ...(e.holes ?? []).map((h) => ({ off: h.off, len: h.len, id: "" })),
    ].sort((a, b) => a.off - b.off);
    let at = 0;
    for (const p of pieces) {
      if (p.off !== at || p.len <= 0) throw new BackupRejectedError(`file ${e.path}: chunks and holes do not tile the file at offset ${at}`);
      at += p.len;
      if (p.id) {
        this.ensurePresent(p.id, e.path);
        this.stats.chunksTotal++;
      }
    }
    if (at !== e.size) throw new BackupRejectedError(`file ${e.path}: chunks cover ${at} bytes of ${e.size}`);
  }

  /** Every chunk the snapshot references so far (data chunks; the manifest's are written at seal). */
  referencedChunks(): ReadonlySet<string> {
    return this.present;
  }

  /**
   * Chunks this session added to the store, data and manifest (id → stored bytes): what its node is
   * charged for, and what GC may take back if the session fails. Chunks it found already stored are
   * not among them: they may belong to another backup still running.
   */
  newChunks(): ReadonlyMap<string, number> {
    return new Map([...this.written, ...this.manifest.newChunks]);
  }

  /** The agent counts what it really read (zero runs included); the master cannot know it. */
  setBytesRead(n: number): void {
    this.stats.bytesRead = n;
  }

  /** Makes the snapshot durable and visible. Nothing before this call creates a snapshot. */
  async seal(): Promise<SnapshotRecord> {
    const manifest = await this.manifest.finish();
    await this.store.chunks.flush(this.storeSession);
    const record: SnapshotRecord = {
      format: "pullback-snapshot/1",
      id: this.id,
      node: this.opts.node,
      source: this.opts.source,
      sourceType: this.opts.sourceType,
      level: this.opts.level,
      requestedLevel: this.opts.requestedLevel,
      baseId: this.opts.base?.record.id ?? null,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      codec: this.opts.codec.level === undefined ? this.opts.codec.name : `${this.opts.codec.name}:${this.opts.codec.level}`,
      manifest,
      stats: { ...this.stats, bytesNew: this.stats.bytesNew + this.manifest.bytesNew, bytesStored: this.stats.bytesStored + this.manifest.bytesStored },
      warnings: this.warnings.lines(),
    };
    await this.store.snapshots.write(record);
    return record;
  }
}
