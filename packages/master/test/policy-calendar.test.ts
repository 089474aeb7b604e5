/**
 * Calendar, windows, catch-up and retries with a clock passed in: a week or a DST weekend runs in
 * milliseconds. Weekdays below are checked against the UTC calendar (2026-11-22 is a Sunday).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  dueAfterDowntime,
  latestSlot,
  nextRetryAt,
  nextSlot,
  parsePolicy,
  slotsBetween,
  windowFor,
  windowState,
  type Policy,
  type PolicyInput,
  type Slot,
} from "../src/policy/index.js";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const at = (iso: string) => new Date(iso);
const show = (s: Slot) => `${DAYS[s.time.getUTCDay()]} ${s.time.toISOString().slice(0, 16)} ${s.level}`;

function policy(over: Partial<PolicyInput> = {}): Policy {
  return parsePolicy({
    name: "nightly",
    rules: [
      { cron: "0 1 * * 0,4", level: "full" },
      { cron: "0 1 * * *", level: "differential" },
    ],
    ...over,
  });
}

test("full on Sunday and Thursday, differential on the other days, all at 01:00", () => {
  const week = slotsBetween(policy(), at("2026-11-21T12:00:00Z"), at("2026-11-29T12:00:00Z")).map(show);
  assert.deepEqual(week, [
    "Sun 2026-11-22T01:00 full",
    "Mon 2026-11-23T01:00 differential",
    "Tue 2026-11-24T01:00 differential",
    "Wed 2026-11-25T01:00 differential",
    "Thu 2026-11-26T01:00 full",
    "Fri 2026-11-27T01:00 differential",
    "Sat 2026-11-28T01:00 differential",
    "Sun 2026-11-29T01:00 full",
  ]);
  // The strongest level wins whatever order the rules are written in.
  const reversed = policy({ rules: [...policy().rules].reverse() });
  assert.deepEqual(slotsBetween(reversed, at("2026-11-21T12:00:00Z"), at("2026-11-29T12:00:00Z")).map(show), week);
});

test("slotsBetween is (after, until]: a slot exactly at `after` is excluded, one exactly at `until` included", () => {
  const slots = slotsBetween(policy(), at("2026-11-22T01:00:00Z"), at("2026-11-24T01:00:00Z")).map(show);
  assert.deepEqual(slots, ["Mon 2026-11-23T01:00 differential", "Tue 2026-11-24T01:00 differential"]);
  assert.equal(slotsBetween(policy(), at("2026-11-21T00:00:00Z"), at("2026-11-30T00:00:00Z"), 3).length, 3);
});

test("nextSlot and latestSlot merge coinciding rules and respect strict bounds", () => {
  const p = policy();
  assert.equal(show(nextSlot(p, at("2026-11-25T01:00:00Z"))!), "Thu 2026-11-26T01:00 full");
  assert.equal(show(nextSlot(p, at("2026-11-25T00:59:59.999Z"))!), "Wed 2026-11-25T01:00 differential");
  assert.equal(show(nextSlot(p, at("2026-11-28T23:59:00Z"))!), "Sun 2026-11-29T01:00 full");
  assert.equal(show(latestSlot(p, at("2026-11-20T00:00:00Z"), at("2026-11-26T01:00:00Z"))!), "Thu 2026-11-26T01:00 full");
  assert.equal(latestSlot(p, at("2026-11-26T01:00:00Z"), at("2026-11-27T00:59:00Z")), null);
});

test("incremental every 4 hours with a nightly full: 6 slots a day, the 00:00 one a full", () => {
  const p = policy({ rules: [{ cron: "0 */4 * * *", level: "incremental" }, { cron: "0 0 * * *", level: "full" }] });
  const day = slotsBetween(p, at("2026-11-22T23:59:00Z"), at("2026-11-23T23:59:00Z")).map((s) => `${s.time.toISOString().slice(11, 16)} ${s.level}`);
  assert.deepEqual(day, ["00:00 full", "04:00 incremental", "08:00 incremental", "12:00 incremental", "16:00 incremental", "20:00 incremental"]);
});

test("Europe/Berlin spring forward (2026-03-29): a 02:30 daily slot runs at 03:00 CEST on the day 02:30 does not exist", () => {
  const p = policy({ timezone: "Europe/Berlin", rules: [{ cron: "30 2 * * *", level: "incremental" }] });
  const slots = slotsBetween(p, at("2026-03-27T12:00:00Z"), at("2026-03-31T12:00:00Z")).map((s) => s.time.toISOString());
  assert.deepEqual(slots, [
    "2026-03-28T01:30:00.000Z", // 02:30 CET (UTC+1)
    "2026-03-29T01:00:00.000Z", // 02:30 does not exist; croner moves to the first valid minute, 03:00 CEST
    "2026-03-30T00:30:00.000Z", // 02:30 CEST (UTC+2)
    "2026-03-31T00:30:00.000Z",
  ]);
  // The hourly view of the same night: 02:00 local never happens, nothing runs twice.
  const hourly = policy({ timezone: "Europe/Berlin", rules: [{ cron: "0 * * * *", level: "incremental" }] });
  const night = slotsBetween(hourly, at("2026-03-28T23:30:00Z"), at("2026-03-29T02:30:00Z")).map((s) => s.time.toISOString());
  assert.deepEqual(night, ["2026-03-29T00:00:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-29T02:00:00.000Z"]); // 01:00 CET, 03:00, 04:00 CEST
});

test("Europe/Berlin fall back (2026-10-25): a 02:30 daily slot runs once, at the first 02:30; hourly rules fire in both 02:00 hours", () => {
  const p = policy({ timezone: "Europe/Berlin", rules: [{ cron: "30 2 * * *", level: "incremental" }] });
  const slots = slotsBetween(p, at("2026-10-24T12:00:00Z"), at("2026-10-26T12:00:00Z")).map((s) => s.time.toISOString());
  assert.deepEqual(slots, ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]); // 02:30 CEST; then 02:30 CET
  const hourly = policy({ timezone: "Europe/Berlin", rules: [{ cron: "0 * * * *", level: "incremental" }] });
  const night = slotsBetween(hourly, at("2026-10-24T23:30:00Z"), at("2026-10-25T02:30:00Z")).map((s) => s.time.toISOString());
  // 02:00 CEST and 02:00 CET are an hour apart in real time: both run, as a real hourly cadence should.
  assert.deepEqual(night, ["2026-10-25T00:00:00.000Z", "2026-10-25T01:00:00.000Z", "2026-10-25T02:00:00.000Z"]);
  // latestSlot agrees with the forward walk across the change.
  assert.equal(latestSlot(p, at("2026-10-24T12:00:00Z"), at("2026-10-25T23:00:00Z"))!.time.toISOString(), "2026-10-25T00:30:00.000Z");
});

test("catch-up after 3 days of downtime: exactly one run, for the newest slot, at the strongest missed level", () => {
  const p = policy({ window: { durationMinutes: 360 } });
  // The Wednesday 01:00 slot was the last one decided; the master was down Wed 02:00 → Sat 02:00.
  const d = dueAfterDowntime(p, at("2026-11-25T01:00:00Z"), at("2026-11-28T02:00:00Z"));
  assert.ok(d.run);
  assert.equal(show(d.run.slot), "Sat 2026-11-28T01:00 differential");
  assert.equal(d.run.level, "full", "Thursday's full was missed: the one catch-up run is a full");
  assert.deepEqual(d.run.window, { opens: at("2026-11-28T01:00:00Z"), closes: at("2026-11-28T07:00:00Z") });
  assert.deepEqual(d.skipped.map(show), ["Thu 2026-11-26T01:00 full", "Fri 2026-11-27T01:00 differential"]);
  assert.equal(d.skippedTruncated, false);
  assert.deepEqual(d.decidedUntil, at("2026-11-28T01:00:00Z"));

  // The next tick continues from decidedUntil: nothing more to run until Sunday's slot.
  const again = dueAfterDowntime(p, d.decidedUntil, at("2026-11-28T02:01:00Z"));
  assert.deepEqual(again, { run: null, skipped: [], skippedTruncated: false, decidedUntil: d.decidedUntil });
  const sunday = dueAfterDowntime(p, d.decidedUntil, at("2026-11-29T01:00:30Z"));
  assert.equal(show(sunday.run!.slot), "Sun 2026-11-29T01:00 full");
  assert.deepEqual(sunday.skipped, []);
});

test("catch-up without a missed full keeps the newest slot's own level", () => {
  const d = dueAfterDowntime(policy({ window: { durationMinutes: 360 } }), at("2026-11-26T01:00:00Z"), at("2026-11-28T03:00:00Z"));
  assert.equal(d.run!.level, "differential");
  assert.deepEqual(d.skipped.map(show), ["Fri 2026-11-27T01:00 differential"]);
});

test("window expiry: a slot not started within its window is skipped and reported, never run late", () => {
  const p = policy({ window: { durationMinutes: 360 } });
  const last = at("2026-11-25T01:00:00Z");
  // 06:59:59.999 is the last instant of Saturday's 6-hour window; 07:00 is past it.
  assert.equal(dueAfterDowntime(p, last, at("2026-11-28T06:59:59.999Z")).run?.slot.time.toISOString(), "2026-11-28T01:00:00.000Z");
  const late = dueAfterDowntime(p, last, at("2026-11-28T07:00:00Z"));
  assert.equal(late.run, null);
  assert.deepEqual(late.skipped.map(show), [
    "Thu 2026-11-26T01:00 full",
    "Fri 2026-11-27T01:00 differential",
    "Sat 2026-11-28T01:00 differential",
  ]);
  assert.deepEqual(late.decidedUntil, at("2026-11-28T01:00:00Z"), "the expired slot is decided: it is not reported again");
});

test("window with a start offset: the slot is due but waits for its window to open", () => {
  const p = policy({ window: { startOffsetMinutes: 30, durationMinutes: 60 } });
  const slot: Slot = { time: at("2026-11-23T01:00:00Z"), level: "differential" };
  const w = windowFor(p, slot);
  assert.deepEqual(w, { opens: at("2026-11-23T01:30:00Z"), closes: at("2026-11-23T02:30:00Z") });
  assert.equal(windowState(w, at("2026-11-23T01:10:00Z")), "not-yet-open");
  assert.equal(windowState(w, at("2026-11-23T01:30:00Z")), "open");
  assert.equal(windowState(w, at("2026-11-23T02:30:00Z")), "closed");
  const d = dueAfterDowntime(p, at("2026-11-22T01:00:00Z"), at("2026-11-23T01:10:00Z"));
  assert.deepEqual(d.run?.window, w);
});

test("without an explicit window a slot stays runnable until the next slot replaces it", () => {
  const p = policy({ rules: [{ cron: "0 * * * *", level: "incremental" }] });
  assert.deepEqual(windowFor(p, { time: at("2026-11-23T10:00:00Z"), level: "incremental" }), {
    opens: at("2026-11-23T10:00:00Z"),
    closes: at("2026-11-23T11:00:00Z"),
  });
  const d = dueAfterDowntime(p, at("2026-11-23T07:00:00Z"), at("2026-11-23T10:59:00Z"));
  assert.equal(d.run?.slot.time.toISOString(), "2026-11-23T10:00:00.000Z");
  assert.deepEqual(d.skipped.map((s) => s.time.toISOString()), ["2026-11-23T08:00:00.000Z", "2026-11-23T09:00:00.000Z"]);
});

test("a year of downtime with a 5-minute rule: one run, the skip report capped, computed quickly", () => {
  const p = policy({ rules: [{ cron: "*/5 * * * *", level: "incremental" }, { cron: "0 3 1 * *", level: "full" }] });
  const t0 = performance.now();
  const d = dueAfterDowntime(p, at("2025-11-23T00:00:00Z"), at("2026-11-23T10:02:00Z"), 50);
  const ms = performance.now() - t0;
  assert.equal(d.run?.slot.time.toISOString(), "2026-11-23T10:00:00.000Z");
  assert.equal(d.run?.level, "full");
  assert.equal(d.skipped.length, 50);
  assert.equal(d.skipped[0]!.time.toISOString(), "2025-11-23T00:05:00.000Z");
  assert.equal(d.skippedTruncated, true);
  assert.ok(ms < 2000, `took ${ms} ms`);
});

test("a policy that never ran since its start time: nothing due before its first slot", () => {
  const d = dueAfterDowntime(policy(), at("2026-11-23T01:30:00Z"), at("2026-11-23T20:00:00Z"));
  assert.deepEqual(d, { run: null, skipped: [], skippedTruncated: false, decidedUntil: at("2026-11-23T01:30:00Z") });
});

test("retries back off exponentially and stop at max or before the next slot", () => {
  const r = { max: 3, backoffSeconds: 300 };
  const failed = at("2026-11-23T01:10:00Z");
  assert.deepEqual(nextRetryAt(r, 1, failed), at("2026-11-23T01:15:00Z"));
  assert.deepEqual(nextRetryAt(r, 2, failed), at("2026-11-23T01:20:00Z"));
  assert.deepEqual(nextRetryAt(r, 3, failed), at("2026-11-23T01:30:00Z"));
  assert.equal(nextRetryAt(r, 4, failed), null);
  assert.equal(nextRetryAt(r, 3, failed, at("2026-11-23T01:30:00Z")), null, "a retry at the next slot's time is the next slot's job");
  assert.deepEqual(nextRetryAt({ max: 20, backoffSeconds: 3600 }, 20, failed), at("2026-11-24T01:10:00Z"), "capped at a day");
  assert.equal(nextRetryAt({ max: 0, backoffSeconds: 60 }, 1, failed), null);
});
