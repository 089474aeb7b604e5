import { ConfigError } from "@pullback/common";
import type { Catalog } from "../catalog/index.js";
import { dueAfterDowntime, nextRetryAt, nextSlot, parsePolicy, type Policy } from "../policy/index.js";
import type { ScheduledSource, SourceDecision } from "./scheduler.js";

/** A new source starts with the current slot if its window is still open; it never backfills. */
const NEW_SOURCE_LOOKBACK_MS = 366 * 86_400_000;

function decide(p: Policy, lastSlot: Date | null, now: Date): SourceDecision {
  const d = dueAfterDowntime(p, lastSlot ?? new Date(now.getTime() - NEW_SOURCE_LOOKBACK_MS), now);
  return {
    run: d.run,
    skipped: lastSlot ? d.skipped : [],
  };
}

/** The catalog's sources with policies, as the scheduler consumes them. */
export async function scheduledSources(catalog: Catalog): Promise<ScheduledSource[]> {
  return (await catalog.policies.scheduledSources()).map((row) => {
    let p: Policy;
    try {
      p = parsePolicy(row.definition, `policy ${row.policy} in the catalog`);
    } catch (err) {
      throw new ConfigError(`${(err as Error).message}\nset it again with \`pullback policy set ${row.policy} ...\``);
    }
    return {
      node: row.node,
      source: row.source,
      priority: p.priority,
      timeoutSeconds: p.timeoutMinutes * 60,
      maxAttempts: 1 + p.retries.max,
      retryAt: (failures, failedAt, windowEnd) => nextRetryAt(p.retries, failures, failedAt, windowEnd ?? nextSlot(p, failedAt)?.time),
      due: (last, now) => decide(p, last, now),
    };
  });
}
