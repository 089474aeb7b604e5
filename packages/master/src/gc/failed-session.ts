/**
 * What a failed backup leaves in the store: the chunks it wrote stay (the next run reuses them instead
 * of receiving them again) but nothing references them, so they are charged to the node and queued
 * as GC candidates. A retry before the grace period ends reuses them; a chunk it references again is
 * kept by GC's re-check under the exclusive lock, and one GC deleted first fails the retry's seal
 * (see gc-lock.ts). Without this, a node could fill the disk with sessions that fail at the end.
 */
import type { MasterContext } from "../master-context.js";

/**
 * `newChunks`: the chunks the session wrote (id → stored bytes). Never the ones it found already
 * stored: they were someone else's to charge, and one may be a manifest chunk of a backup still
 * running, which that backup's seal does not re-check.
 */
export async function reclaimFailedSession(ctx: MasterContext, nodeId: number, newChunks: ReadonlyMap<string, number>): Promise<{ queued: number }> {
  const catalog = await ctx.catalog();
  await catalog.chargeNodeChunks(nodeId, newChunks);
  return { queued: await catalog.queueGcCandidates([...newChunks.keys()]) };
}
