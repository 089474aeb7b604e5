/**
 * The chunks a snapshot record may reference, also when its manifest cannot be parsed (a record
 * written by an older master, or damaged). GC must never delete what such a snapshot might need,
 * so the fallback over-approximates: every 64-hex-digit run in the manifest's bytes counts as a
 * reference. A false positive keeps a chunk longer; a false negative would lose data.
 */
import type { SnapshotRecord } from "@pullback/common";
import type { ChunkStore } from "../store/chunk-store.js";
import { readManifest } from "../store/manifest-io.js";

export interface RecordChunks {
  ids: Set<string>;
  /** Why the manifest could not be read entry by entry; absent when it could. */
  problem?: string;
  /** Manifest chunks that could not be read at all: the data chunks they name are unknown. */
  unreadable: string[];
}

const CHUNK_ID = /[0-9a-f]{64}/g;

export async function chunksOfRecord(store: ChunkStore, record: SnapshotRecord): Promise<RecordChunks> {
  const ids = new Set<string>(record.manifest.chunks);
  try {
    for await (const e of readManifest(store, record.manifest)) for (const c of e.chunks ?? []) ids.add(c.id);
    return { ids, unreadable: [] };
  } catch (err) {
    return { ...(await scanManifest(store, record, ids)), problem: (err as Error).message };
  }
}

async function scanManifest(store: ChunkStore, record: SnapshotRecord, ids: Set<string>): Promise<RecordChunks> {
  const unreadable: string[] = [];
  for (const id of record.manifest.chunks) {
    let plain: Buffer;
    try {
      plain = await store.get(id);
    } catch {
      unreadable.push(id);
      continue;
    }
    for (const m of plain.toString("latin1").matchAll(CHUNK_ID)) ids.add(m[0]);
  }
  return { ids, unreadable };
}
