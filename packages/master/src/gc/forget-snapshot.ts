/**
 * Deleting a snapshot: the store's record first (the store is the truth: once the record is gone
 * the snapshot is gone), then the catalog, which releases its chunk references and queues chunks
 * left without any as GC candidates. A crash between the two leaves a catalog row without a record;
 * `reconcileCatalog` finishes the job before any GC.
 */
import type { SnapshotRecord } from "@pullback/common";
import type { MasterContext } from "../master-context.js";

export async function forgetSnapshot(ctx: MasterContext, record: SnapshotRecord): Promise<{ gcCandidates: number }> {
  const catalog = await ctx.catalog();
  const row = await catalog.getSnapshot(record.id);
  if (row?.protected) throw new Error(`snapshot ${record.id} is protected; run \`pullback snapshot protect ${record.id} --off\` first`);
  await ctx.store.snapshots.remove(record);
  return (await catalog.deleteSnapshot(record.id)) ?? { gcCandidates: 0 };
}

/**
 * Makes the catalog agree with the store before anything is deleted: rows whose record is gone
 * (an interrupted forget) are deleted; records missing from the catalog make GC unsafe (their
 * chunks would look unreferenced), so they stop it with the command that fixes it.
 */
export async function reconcileCatalog(ctx: MasterContext): Promise<{ removedRows: number }> {
  const catalog = await ctx.catalog();
  const inStore = new Set((await ctx.store.snapshots.list()).map((r) => r.id));
  const inCatalog = await catalog.snapshotIds();
  const missing = [...inStore].filter((id) => !inCatalog.has(id));
  if (missing.length) {
    throw new Error(
      `${missing.length} snapshot(s) in the store are not in the catalog (e.g. ${missing[0]}); ` +
        "run `pullback catalog rebuild` before garbage collection, or their chunks would look unreferenced",
    );
  }
  let removedRows = 0;
  for (const id of inCatalog) {
    if (!inStore.has(id)) {
      await catalog.setSnapshotProtected(id, false);
      await catalog.deleteSnapshot(id);
      removedRows++;
    }
  }
  return { removedRows };
}
