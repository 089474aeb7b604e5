/**
 * Manifests live in the chunk store like file data: NDJSON cut with small content-defined chunks so
 * that a new manifest of a mostly unchanged tree reuses most of the previous one's chunks.
 */
import { createHash } from "node:crypto";
import {
  chunkId,
  DamagedDataError,
  compress,
  cutPoint,
  encodeEntry,
  ManifestParser,
  MANIFEST_CHUNKING,
  type CodecSpec,
  type Entry,
  type SnapshotRecord,
} from "@pullback/common";
import type { ChunkStore } from "./chunk-store.js";

export class ManifestWriter {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private readonly hash = createHash("sha256");
  readonly chunks: string[] = [];
  entries = 0;
  bytes = 0;
  /** Plain and stored bytes of manifest chunks that were new to the store. */
  bytesNew = 0;
  bytesStored = 0;
  /** Manifest chunks this writer added to the store (not found already stored) → stored bytes. */
  readonly newChunks = new Map<string, number>();

  constructor(
    private readonly store: ChunkStore,
    private readonly codec: CodecSpec,
  ) {}

  async add(entry: Entry): Promise<void> {
    const line = Buffer.from(encodeEntry(entry), "utf8");
    this.hash.update(line);
    this.pending.push(line);
    this.pendingLen += line.length;
    this.entries++;
    this.bytes += line.length;
    if (this.pendingLen >= 2 * MANIFEST_CHUNKING.maxSize) await this.cut(false);
  }

  private async cut(final: boolean): Promise<void> {
    const buf = Buffer.concat(this.pending, this.pendingLen);
    let start = 0;
    while (buf.length - start >= MANIFEST_CHUNKING.maxSize || (final && start < buf.length)) {
      const len = cutPoint(buf, start, buf.length, MANIFEST_CHUNKING, final);
      await this.storeChunk(buf.subarray(start, start + len));
      start += len;
    }
    const rest = buf.subarray(start);
    this.pending = rest.length ? [Buffer.from(rest)] : [];
    this.pendingLen = rest.length;
  }

  private async storeChunk(plain: Buffer): Promise<void> {
    const id = chunkId(plain);
    const c = compress(plain, this.codec);
    const r = await this.store.put(id, c.codec, plain.length, c.data);
    if (r.written) {
      this.bytesNew += plain.length;
      this.bytesStored += r.storedBytes;
      this.newChunks.set(id, r.storedBytes);
    }
    this.chunks.push(id);
  }

  async finish(): Promise<SnapshotRecord["manifest"]> {
    await this.cut(true);
    return { chunks: this.chunks, entries: this.entries, bytes: this.bytes, sha256: this.hash.digest("hex") };
  }
}

/** Streams a snapshot's entries back, verifying every chunk and the whole manifest's digest. */
export async function* readManifest(store: ChunkStore, manifest: SnapshotRecord["manifest"]): AsyncGenerator<Entry> {
  const parser = new ManifestParser();
  const hash = createHash("sha256");
  let count = 0;
  for (const id of manifest.chunks) {
    const plain = await store.get(id);
    hash.update(plain);
    for (const e of parser.push(plain)) {
      count++;
      yield e;
    }
  }
  parser.end();
  if (hash.digest("hex") !== manifest.sha256 || count !== manifest.entries) {
    throw new DamagedDataError(
      "manifest does not match its snapshot record (digest or entry count); the snapshot is damaged",
      "restore from another snapshot; `pullback verify` lists the damaged ones",
    );
  }
}

export async function loadManifestMap(store: ChunkStore, manifest: SnapshotRecord["manifest"]): Promise<Map<string, Entry>> {
  const m = new Map<string, Entry>();
  for await (const e of readManifest(store, manifest)) m.set(e.path, e);
  return m;
}
