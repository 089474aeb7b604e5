/**
 * A source as the scheduler sees it, with its next `slots` slots due at once, one per tick, each
 * opened a second ago with an hour's window: scheduler tests drive jobs without waiting for a calendar.
 */
import type { BackupLevel } from "@pullback/common";
import type { ScheduledSource } from "../../src/scheduler/scheduler.js";

export function sourceWithSlots(
  node: string,
  source: string,
  o: { slots?: number; level?: BackupLevel; timeoutSeconds?: number; maxAttempts?: number; retryAt?: ScheduledSource["retryAt"] } = {},
): ScheduledSource {
  let left = o.slots ?? 1;
  return {
    node,
    source,
    priority: 100,
    timeoutSeconds: o.timeoutSeconds ?? 600,
    maxAttempts: o.maxAttempts ?? 1,
    retryAt: o.retryAt ?? (() => null),
    due: (_last, now) => {
      if (left <= 0) return { run: null, skipped: [] };
      left--;
      const slot = new Date(now.getTime() - 1000);
      const level = o.level ?? "full";
      return { run: { slot: { time: slot, level }, level, window: { opens: slot, closes: new Date(now.getTime() + 3600_000) } }, skipped: [] };
    },
  };
}
