/**
 * A slot's backup window: when a job for it may start. A job that has not started by the window's
 * end is skipped and reported, so a backlog after an outage never turns into a burst of stale runs.
 */
import { nextSlot, type Slot } from "./calendar.js";
import type { Policy } from "./policy.js";

export interface SlotWindow {
  opens: Date;
  /** Exclusive: a job may start at any instant before this one. */
  closes: Date;
}

type WindowPolicy = Pick<Policy, "timezone" | "rules" | "window">;

/** Far enough to never be reached, small enough to stay a valid Date and a valid timestamptz. */
const NEVER = new Date("9999-12-31T23:59:59.999Z");

export function windowFor(p: WindowPolicy, slot: Slot): SlotWindow {
  if (p.window) {
    const opens = new Date(slot.time.getTime() + p.window.startOffsetMinutes * 60_000);
    return { opens, closes: new Date(opens.getTime() + p.window.durationMinutes * 60_000) };
  }
  // Without an explicit window a slot stays runnable until the next one replaces it: a source never
  // has two slots waiting, and a slow queue delays a backup instead of dropping it.
  return { opens: slot.time, closes: nextSlot(p, slot.time)?.time ?? NEVER };
}

export type WindowState = "not-yet-open" | "open" | "closed";

export function windowState(w: SlotWindow, now: Date): WindowState {
  if (now < w.opens) return "not-yet-open";
  return now < w.closes ? "open" : "closed";
}
