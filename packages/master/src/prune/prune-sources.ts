/**
 * Retention applied: for each source, the rules (given, or its policy's) decide which snapshots stay
 * and why; the rest are forgotten and their chunks queued for GC. Called by `pullback prune` and by
 * the scheduler after each successful backup, so a policy's retention holds without a cron job.
 */
import { forgetSnapshot } from "../gc/forget-snapshot.js";
import { collectGarbage, type GcResult } from "../gc/garbage-collector.js";
import { reconcileCatalog } from "../gc/reconcile.js";
import type { MasterContext } from "../master-context.js";
import { parsePolicy, planRetention, type RetentionRules } from "../policy/index.js";

export interface PruneOptions {
  node?: string;
  source?: string;
  /** Decide and report only; change nothing. */
  dryRun: boolean;
  /** Rules for every selected source; null: each source's policy decides (none: not pruned). */
  rules: RetentionRules | null;
  /** Collect the freed chunks afterwards (not with dryRun). */
  gc: boolean;
  /**
   * First drop catalog rows whose store record is gone (an earlier prune or forget killed between
   * its two steps), so they neither count as survivors nor are forgotten twice. It reads every
   * record in the store: `pullback prune` does it; the scheduler's per-source prune leaves it to GC.
   */
  reconcile: boolean;
}

export interface PruneLine {
  node: string;
  source: string;
  snapshot: string;
  time: string;
  action: "keep" | "forget";
  why: string;
}

export interface PruneReport {
  dryRun: boolean;
  lines: PruneLine[];
  /** Sources left alone, and why. */
  notes: string[];
  /** Chunks that lost their last reference through the forgets (GC candidates). */
  gcCandidates: number;
  gc: GcResult | null;
}

export async function pruneSources(ctx: MasterContext, o: PruneOptions): Promise<PruneReport> {
  const catalog = await ctx.catalog();
  if (o.reconcile && !o.dryRun) await reconcileCatalog(ctx);
  const policies = new Map((await catalog.policies.scheduledSources()).map((s) => [`${s.node}/${s.source}`, s]));
  const report: PruneReport = { dryRun: o.dryRun, lines: [], notes: [], gcCandidates: 0, gc: null };
  for (const src of await catalog.sources.list(o.node)) {
    if (o.source && src.name !== o.source) continue;
    const attached = policies.get(`${src.node}/${src.name}`);
    const policy = attached ? parsePolicy(attached.definition, `policy ${attached.policy}`) : null;
    const rules = o.rules ?? policy?.retention ?? null;
    if (!rules) {
      report.notes.push(`${src.node}/${src.name}: no policy and no --keep-* flags; nothing pruned`);
      continue;
    }
    const snaps = await catalog.snapshots.list({ node: src.node, source: src.name });
    const plan = planRetention(
      snaps.map((s) => ({ id: s.id, time: s.startedAt, successful: s.status !== "damaged", protected: s.protected })),
      rules,
      new Date(),
      { timezone: policy?.timezone ?? "UTC" },
    );
    for (const d of plan) {
      const why = d.action === "keep" ? d.reasons.join(", ") : (d.because ?? "no rule keeps it");
      report.lines.push({ node: src.node, source: src.name, snapshot: d.snapshot.id, time: d.snapshot.time.toISOString(), action: d.action, why });
      if (d.action === "forget" && !o.dryRun) {
        const record = await ctx.store.snapshots.find(d.snapshot.id);
        report.gcCandidates += (await forgetSnapshot(ctx, record)).gcCandidates;
      }
    }
  }
  if (o.gc && !o.dryRun) report.gc = await collectGarbage(ctx);
  return report;
}
