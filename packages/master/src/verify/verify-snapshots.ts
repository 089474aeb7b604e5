/**
 * `pullback verify` for the CLI and the coming API: read back the chunks of the given snapshots (all
 * when none is named) and, with `repair`, set the damaged ones aside so the next backup of each
 * affected source stores them again.
 */
import type { MasterContext } from "../master-context.js";
import { verifyStore, type VerifyResult } from "./verifier.js";

export interface VerifyRequest {
  /** Snapshot ids or prefixes; empty: every snapshot in the store. */
  snapshots: string[];
  repair: boolean;
  onProgress?(chunks: number, bytes: number): void;
}

export async function verifySnapshots(ctx: MasterContext, r: VerifyRequest): Promise<VerifyResult & { setAside: number }> {
  const snapshots = r.snapshots.length ? await Promise.all(r.snapshots.map((id) => ctx.store.snapshots.find(id))) : undefined;
  const result = await verifyStore(ctx.store, { ...(snapshots ? { snapshots } : {}), ...(r.onProgress ? { onProgress: r.onProgress } : {}) });
  if (r.repair) for (const d of result.damaged) await ctx.store.chunks.quarantine(d.chunk);
  return { ...result, setAside: r.repair ? result.damaged.length : 0 };
}
