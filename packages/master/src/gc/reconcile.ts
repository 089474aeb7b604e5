/**
 * Makes the catalog agree with the store, which is the truth, before anything is pruned or deleted.
 * Two things go out of step when a master dies at the wrong moment: a forget killed after removing
 * the record leaves a catalog row for a snapshot that is gone, and a backup killed after writing
 * its record leaves a snapshot the catalog does not know. The first would count as a survivor in
 * retention; the second's chunks would look unreferenced to GC. Both are repaired here.
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
}

/** Indexes one store record into the catalog; returns whether it was new there. */
export async function indexRecord(ctx: MasterContext, r: SnapshotRecord): Promise<boolean> {
  const catalog = await ctx.catalog();
  // Sources recreated from a record get an empty config: their paths live only in the catalog.
  await catalog.ensureSource(r.node, r.source, r.sourceType);
  return (await catalog.recordSnapshot(r, readManifest(ctx.store.chunks, r.manifest))).created;
}

/** With `dryRun`, only counts what it would repair. */
export async function reconcileCatalog(ctx: MasterContext, dryRun = false): Promise<ReconcileResult> {
  const catalog = await ctx.catalog();
  // Exclusive, so a backup sealing right now (record written, catalog row not yet) is not taken
  // for one that died there.
  return catalog.withAdvisoryLock(GC_LOCK, "exclusive", async () => {
    const records = await ctx.store.snapshots.list();
    const inStore = new Set(records.map((r) => r.id));
    const inCatalog = await catalog.snapshotIds();
    const unindexed = records.filter((r) => !inCatalog.has(r.id));
    const orphanRows = [...inCatalog].filter((id) => !inStore.has(id));
    if (dryRun) return { removedRows: orphanRows.length, indexedRecords: unindexed.length };
    let indexedRecords = 0;
    for (const r of unindexed) if (await indexRecord(ctx, r)) indexedRecords++;
    for (const id of orphanRows) {
      await catalog.setSnapshotProtected(id, false);
      await catalog.deleteSnapshot(id);
    }
    const removedRows = orphanRows.length;
    return { removedRows, indexedRecords };
  });
}
