/**
 * When a policy's backups are due. Croner does the cron arithmetic and the time-zone/DST rules; this
 * module only merges rules and decides which slot to run. Every function takes the clock as an
 * argument, so a test can walk a month of calendar in milliseconds and the daemon passes real time.
 */
import { Cron } from "croner";
import type { BackupLevel } from "@pullback/common";
import type { Policy } from "./policy.js";

export interface Slot {
  time: Date;
  level: BackupLevel;
}

const STRENGTH: Record<BackupLevel, number> = { incremental: 0, differential: 1, full: 2 };

/** A full satisfies a differential, which satisfies an incremental: coinciding rules run the strongest. */
export function strongest(a: BackupLevel, b: BackupLevel): BackupLevel {
  return STRENGTH[a] >= STRENGTH[b] ? a : b;
}

type CalendarPolicy = Pick<Policy, "timezone" | "rules">;

interface Rule {
  cron: Cron;
  level: BackupLevel;
}

function compile(p: CalendarPolicy): Rule[] {
  // paused: these objects only compute dates; a running Cron would hold a timer and keep Node alive.
  return p.rules.map((r) => ({ cron: new Cron(r.cron, { timezone: p.timezone, paused: true }), level: r.level }));
}

/**
 * Every slot with after < time <= until, one per instant, in time order; with `limit`, only the
 * first `limit` of them (a report after months of downtime must not enumerate every minute).
 */
export function slotsBetween(p: CalendarPolicy, after: Date, until: Date, limit = Infinity): Slot[] {
  const byTime = new Map<number, BackupLevel>();
  for (const { cron, level } of compile(p)) {
    // Each rule contributes at most `limit` instants; the merged first `limit` are among them.
    let n = 0;
    for (let t = cron.nextRun(after); t && t <= until && n < limit; t = cron.nextRun(t), n++) {
      const k = t.getTime();
      const had = byTime.get(k);
      byTime.set(k, had ? strongest(had, level) : level);
    }
  }
  return [...byTime]
    .sort((a, b) => a[0] - b[0])
    .slice(0, limit)
    .map(([k, level]) => ({ time: new Date(k), level }));
}

/** The first slot strictly after `after`; null only for a pattern that never fires again. */
export function nextSlot(p: CalendarPolicy, after: Date): Slot | null {
  let best: Slot | null = null;
  for (const { cron, level } of compile(p)) {
    const t = cron.nextRun(after);
    if (!t) continue;
    if (!best || t < best.time) best = { time: t, level };
    else if (t.getTime() === best.time.getTime()) best.level = strongest(best.level, level);
  }
  return best;
}

/** The latest slot with after < time <= at, or null. O(rules): downtime length does not matter. */
export function latestSlot(p: CalendarPolicy, after: Date, at: Date): Slot | null {
  // previousRuns excludes its reference instant; one millisecond later includes a slot exactly at `at`.
  const ref = new Date(at.getTime() + 1);
  let best: Slot | null = null;
  for (const { cron, level } of compile(p)) {
    const t = cron.previousRuns(1, ref)[0];
    if (!t || t <= after) continue;
    if (!best || t > best.time) best = { time: t, level };
    else if (t.getTime() === best.time.getTime()) best.level = strongest(best.level, level);
  }
  return best;
}

/** The strongest level any rule fired with in (after, until], or null if none fired. O(rules). */
export function strongestLevelBetween(p: CalendarPolicy, after: Date, until: Date): BackupLevel | null {
  let level: BackupLevel | null = null;
  for (const r of compile(p)) {
    const t = r.cron.nextRun(after);
    if (t && t <= until) level = level ? strongest(level, r.level) : r.level;
  }
  return level;
}
