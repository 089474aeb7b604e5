/**
 * Which slot to run now. The same decision serves the daemon's regular tick and its first tick after
 * a restart: of the slots since the last decided one, run only the newest, and only while its window
 * is open. Downtime of three days yields one backup, not three.
 */
import type { BackupLevel } from "@pullback/common";
import { latestSlot, slotsBetween, strongestLevelBetween, type Slot } from "./calendar.js";
import type { Policy } from "./policy.js";
import { windowFor, type SlotWindow } from "./window.js";

/** A calendar slot chosen to run now: the one type for "what to back up next" from policy to queue. */
export interface DueSlot {
  /** The calendar slot this run stands for (its own time and level). */
  slot: Slot;
  /**
   * The level to run: the strongest of every slot missed since the last run. A full missed during
   * downtime is not silently dropped; it happens now instead of waiting for the next full slot, and
   * differentials do not keep growing against an ever older full.
   */
  level: BackupLevel;
  /** May open in the future (startOffsetMinutes): queue the job, start it at `window.opens`. */
  window: SlotWindow;
}

export interface DueDecision {
  run: DueSlot | null;
  /** Slots that will never run (older missed ones, or the newest when its window has closed), oldest first. */
  skipped: Slot[];
  /** True when `skipped` was cut at `reportLimit`: report "and more". */
  skippedTruncated: boolean;
  /** Store this and pass it as `lastRunAt` next time: every slot up to it has been decided. */
  decidedUntil: Date;
}

/**
 * @param lastRunAt the `decidedUntil` of the previous decision (or when the source joined the
 *   policy); slots at or before it are never considered again.
 * @param now the clock; never read inside, so tests need no sleeping.
 */
export function dueAfterDowntime(
  p: Pick<Policy, "timezone" | "rules" | "window">,
  lastRunAt: Date,
  now: Date,
  reportLimit = 100,
): DueDecision {
  const latest = latestSlot(p, lastRunAt, now);
  if (!latest) return { run: null, skipped: [], skippedTruncated: false, decidedUntil: lastRunAt };

  // Windows all have the same shape, so no older slot can still be open when the newest is closed.
  const window = windowFor(p, latest);
  const open = now < window.closes;
  const olderUntil = new Date(latest.time.getTime() - 1);
  const older = slotsBetween(p, lastRunAt, olderUntil, reportLimit + 1);
  const skipped = open ? older : [...older, latest];
  const run: DueSlot | null = open
    ? { slot: latest, level: strongestLevelBetween(p, lastRunAt, latest.time) ?? latest.level, window }
    : null;
  return {
    run,
    skipped: skipped.slice(0, reportLimit),
    skippedTruncated: skipped.length > reportLimit,
    decidedUntil: latest.time,
  };
}
