/**
 * What a backup session leaves in the store beyond its snapshot. A failed session's chunks stay (the
 * next run reuses them instead of receiving them again) but nothing references them; a sealed
 * session may have been sent chunks no entry uses. Either way they are charged to the node and queued
 * as GC candidates, and the queue keeps only those no snapshot references. A retry before the grace
 * period ends reuses them; a chunk it references again is kept by GC's re-check under the exclusive
 * lock, and one GC deleted first fails the retry's seal (see gc-lock.ts). Without this, a node could
 * fill the disk with sessions that fail at the end, or with chunks it never uses.
 */
import type { MasterContext } from "../master-context.js";

/**
 * `newChunks`: the chunks the session wrote (id → stored bytes). Never the ones it found already
 * stored: they were someone else's to charge, and one may be a manifest chunk of a backup still
 * running, which that backup's seal does not re-check. Safe to call twice. Returns how many were
 * queued (none that a snapshot references; a sealed snapshot not yet in the catalog is indexed by
 * GC's reconcile before anything is deleted).
 */
export async function settleSessionChunks(ctx: MasterContext, nodeId: number, newChunks: ReadonlyMap<string, number>): Promise<number> {
  const catalog = await ctx.catalog();
  await catalog.nodes.chargeChunks(nodeId, newChunks);
  return catalog.gc.enqueue([...newChunks.keys()]);
}
