/**
 * `pullback catalog rebuild`: the store is the truth, so every snapshot record in it is indexed into
 * the catalog; a record the catalog cannot take is skipped and described, never fatal.
 */
import type { MasterContext } from "../master-context.js";
import { describeUnindexable, tryIndexRecord } from "./reconcile.js";

export interface RebuildSummary {
  records: number;
  added: number;
  alreadyKnown: number;
  /** One line per record that could not be indexed (GC keeps every chunk it may reference). */
  skipped: string[];
}

export async function rebuildCatalog(ctx: MasterContext): Promise<RebuildSummary> {
  let added = 0;
  let known = 0;
  const skipped: string[] = [];
  const records = await ctx.store.snapshots.list();
  for (const r of records) {
    const outcome = await tryIndexRecord(ctx, r);
    if (outcome === true) added++;
    else if (outcome === false) known++;
    else skipped.push(describeUnindexable(outcome));
  }
  return { records: records.length, added, alreadyKnown: known, skipped };
}
