/**
 * Deleting a snapshot: the store's record first (the store is the truth: once the record is gone
 * the snapshot is gone), then the catalog, which releases its chunk references and queues chunks
 * left without any as GC candidates. A crash between the two leaves a catalog row without a record;
 * `reconcileCatalog` (reconcile.ts) finishes the job before any prune or GC.
 */
import type { SnapshotRecord } from "@pullback/common";
import { ProtectedSnapshotError } from "../errors.js";
import type { MasterContext } from "../master-context.js";

export async function forgetSnapshot(ctx: MasterContext, record: SnapshotRecord): Promise<{ gcCandidates: number }> {
  const catalog = await ctx.catalog();
  const row = await catalog.snapshots.get(record.id);
  if (row?.protected) throw new ProtectedSnapshotError(`snapshot ${record.id} is protected; run \`pullback snapshot protect ${record.id} --off\` first`);
  await ctx.store.snapshots.remove(record);
  return (await catalog.snapshots.delete(record.id)) ?? { gcCandidates: 0 };
}
