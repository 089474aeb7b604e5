/**
 * Garbage collection that costs what was deleted. Forgetting a snapshot queues the chunks that lost
 * their last reference (gc_candidates); GC works through that queue only, never through the whole
 * store. A candidate is deleted once it has been unreferenced for a grace period and, re-checked
 * under the exclusive GC lock, is still unreferenced.
 *
 * `fullSweep` is the fallback for leaks the queue cannot know of (chunks of killed backups, a lost
 * catalog): it walks every manifest and every chunk file, and queues — not deletes — what nothing
 * references, so the deletion goes through the same safe path.
 */
import type { MasterContext } from "../master-context.js";
import { GC_LOCK } from "./gc-lock.js";
import { chunksOfRecord } from "./record-chunks.js";
import { describeUnindexable, reconcileCatalog } from "./reconcile.js";

export interface GcOptions {
  /** Candidates younger than this are kept (default 1 h): longer than any backup's reuse window. */
  graceMs?: number;
  dryRun?: boolean;
  batch?: number;
}

export interface GcResult {
  examined: number;
  deleted: number;
  bytesFreed: number;
  /** Candidates that a snapshot sealed meanwhile references again: kept. */
  rereferenced: number;
  /** Catalog rows whose record was gone (an interrupted forget), now removed. */
  reconciled: number;
  /** Store records the catalog missed, now indexed (their chunks were kept). */
  indexed: number;
  /** Store records the catalog cannot index, one report each; every chunk they may reference was kept. */
  unindexable: string[];
  /** Candidates kept because an unindexable record may reference them. */
  keptForUnindexable: number;
  seconds: number;
}

export async function collectGarbage(ctx: MasterContext, o: GcOptions = {}): Promise<GcResult> {
  const started = Date.now();
  const catalog = await ctx.catalog();
  const { removedRows, indexedRecords, unindexable } = await reconcileCatalog(ctx, o.dryRun);
  // The catalog holds no references for these records, so its answer alone would let their chunks go.
  const pinned = new Set<string>();
  for (const u of unindexable) for (const id of (await chunksOfRecord(ctx.store.chunks, u.record)).ids) pinned.add(id);
  const before = new Date(Date.now() - (o.graceMs ?? 3600_000));
  const result: GcResult = {
    examined: 0,
    deleted: 0,
    bytesFreed: 0,
    rereferenced: 0,
    reconciled: removedRows,
    indexed: indexedRecords,
    unindexable: unindexable.map(describeUnindexable),
    keptForUnindexable: 0,
    seconds: 0,
  };
  const seen = new Set<string>();
  for (;;) {
    const batch = (await catalog.gc.candidates(before, o.batch ?? 2000)).filter((id) => !seen.has(id));
    if (batch.length === 0) break;
    for (const id of batch) seen.add(id);
    result.examined += batch.length;
    await catalog.gc.withLock(GC_LOCK, "exclusive", async () => {
      const referenced = await catalog.gc.referencedAmong(batch);
      result.rereferenced += referenced.size;
      const deleted: string[] = [];
      for (const id of batch) {
        if (referenced.has(id)) continue;
        // Stays queued: once the record is indexed or forgotten, a later run decides.
        if (pinned.has(id)) {
          result.keptForUnindexable++;
          continue;
        }
        deleted.push(id);
        result.bytesFreed += o.dryRun ? (ctx.store.chunks.stat(id)?.bytes ?? 0) : ctx.store.chunks.remove(id);
        result.deleted++;
      }
      if (!o.dryRun) {
        await catalog.gc.drop([...referenced]);
        await catalog.gc.markDeleted(deleted);
      }
    });
    if (o.dryRun) break;
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

export interface SweepResult {
  chunkFiles: number;
  referenced: number;
  queued: number;
  seconds: number;
}

/** Mark and sweep over the whole store; queues unreferenced chunks older than the grace period. */
export async function fullSweep(ctx: MasterContext, graceMs = 3600_000, dryRun = false): Promise<SweepResult> {
  const started = Date.now();
  const catalog = await ctx.catalog();
  await reconcileCatalog(ctx, dryRun);
  const live = new Set<string>();
  // A manifest that does not parse still keeps every chunk it may name (record-chunks.ts).
  for (const r of await ctx.store.snapshots.list()) for (const id of (await chunksOfRecord(ctx.store.chunks, r)).ids) live.add(id);
  const cutoff = Date.now() - graceMs;
  const orphans: string[] = [];
  let files = 0;
  for await (const id of ctx.store.chunks.ids()) {
    files++;
    if (live.has(id)) continue;
    const st = ctx.store.chunks.stat(id);
    if (st && st.mtimeMs < cutoff) orphans.push(id);
  }
  const queued = dryRun ? orphans.length : await catalog.gc.enqueue(orphans);
  return { chunkFiles: files, referenced: live.size, queued, seconds: (Date.now() - started) / 1000 };
}
