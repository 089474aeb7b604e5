/**
 * Makes the catalog agree with the store, which is the truth, before anything is pruned or deleted.
 * Two things go out of step when a master dies at the wrong moment: a forget killed after removing
 * the record leaves a catalog row for a snapshot that is gone, and a backup killed after writing
 * its record leaves a snapshot the catalog does not know. The first would count as a survivor in
 * retention; the second's chunks would look unreferenced to GC. Both are repaired here.
 *
 * A record the catalog cannot index (written by an older master that let a bad entry through, or
 * damaged) is skipped and reported, not fatal: one such record used to stop GC, prune and rebuild
 * for every node. GC keeps every chunk it might reference (see record-chunks.ts).
 */
import type { SnapshotRecord } from "@pullback/common";
import type { MasterContext } from "../master-context.js";
import { readManifest } from "../store/manifest-io.js";
import { GC_LOCK } from "./gc-lock.js";

export interface ReconcileResult {
  /** Catalog rows whose record was gone (an interrupted forget), now removed. */
  removedRows: number;
  /** Store records the catalog missed (an interrupted seal, a catalog restored from an old dump), now indexed. */
  indexedRecords: number;
  /** Store records the catalog missed and cannot index; left out of it, their chunks kept by GC. */
  unindexable: UnindexableRecord[];
}

export interface UnindexableRecord {
  record: SnapshotRecord;
  reason: string;
}

/** What an operator reads about a record left out of the catalog, and what to do about it. */
export function describeUnindexable(u: UnindexableRecord): string {
  const r = u.record;
  return `snapshot ${r.id} of ${r.node}/${r.source} (${r.startedAt}) cannot be indexed in the catalog: ${u.reason}; its chunks are kept. Restore what you need from it, then remove it with \`pullback forget ${r.id}\` and free its chunks with \`pullback gc --full\``;
}

/** Indexes one store record into the catalog; returns whether it was new there. */
export async function indexRecord(ctx: MasterContext, r: SnapshotRecord): Promise<boolean> {
  const catalog = await ctx.catalog();
  // Sources recreated from a record get an empty config: their paths live only in the catalog.
  await catalog.sources.ensure(r.node, r.source, r.sourceType);
  return (await catalog.snapshots.record(r, readManifest(ctx.store.chunks, r.manifest))).created;
}

/** Like indexRecord, but a record the catalog refuses comes back as a report instead of an error. */
export async function tryIndexRecord(ctx: MasterContext, r: SnapshotRecord): Promise<boolean | UnindexableRecord> {
  try {
    return await indexRecord(ctx, r);
  } catch (err) {
    const u = { record: r, reason: (err as Error).message };
    ctx.log.warn({ snapshot: r.id, node: r.node, source: r.source, err }, describeUnindexable(u));
    return u;
  }
}

/** With `dryRun`, only counts what it would repair. */
export async function reconcileCatalog(ctx: MasterContext, dryRun = false): Promise<ReconcileResult> {
  const catalog = await ctx.catalog();
  // Exclusive, so a backup sealing right now (record written, catalog row not yet) is not taken
  // for one that died there.
  return catalog.gc.withLock(GC_LOCK, "exclusive", async () => {
    const records = await ctx.store.snapshots.list();
    const inStore = new Set(records.map((r) => r.id));
    const inCatalog = await catalog.snapshots.ids();
    const unindexed = records.filter((r) => !inCatalog.has(r.id));
    const orphanRows = [...inCatalog].filter((id) => !inStore.has(id));
    if (dryRun) return { removedRows: orphanRows.length, indexedRecords: unindexed.length, unindexable: [] };
    let indexedRecords = 0;
    const unindexable: UnindexableRecord[] = [];
    for (const r of unindexed) {
      const outcome = await tryIndexRecord(ctx, r);
      if (outcome === true) indexedRecords++;
      else if (outcome !== false) unindexable.push(outcome);
    }
    for (const id of orphanRows) {
      await catalog.snapshots.setProtected(id, false);
      await catalog.snapshots.delete(id);
    }
    const removedRows = orphanRows.length;
    return { removedRows, indexedRecords, unindexable };
  });
}
