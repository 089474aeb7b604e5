/**
 * Retention against restic's documented `forget` examples and its own test fixture, then our rules on
 * top: protected snapshots, the newest successful snapshot, and only successful snapshots counting.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { planRetention, retentionSchema, type RetentionRules, type RetentionSnapshot } from "../src/policy/index.js";

const rules = (r: Partial<RetentionRules>): RetentionRules => retentionSchema.parse(r);
const snap = (id: string, iso: string, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot => ({
  id,
  time: new Date(iso),
  successful: true,
  protected: false,
  ...extra,
});
const kept = (plan: ReturnType<typeof planRetention>) => plan.filter((d) => d.action === "keep");
const keptTimes = (plan: ReturnType<typeof planRetention>) => kept(plan).map((d) => d.snapshot.time.toISOString().replace(".000", ""));
const LATER = new Date("2030-01-01T00:00:00Z");

test("restic manual: one backup every Sunday for 12 weeks, --keep-daily 4 keeps the last four Sundays", () => {
  const sundays = ["09-01", "09-08", "09-15", "09-22", "09-29", "10-06", "10-13", "10-20", "10-27", "11-03", "11-10", "11-17"];
  const list = sundays.map((d, i) => snap(`s${i}`, `2019-${d}T11:00:00Z`));
  const plan = planRetention(list, rules({ keepDaily: 4 }), new Date("2019-11-18T00:00:00Z"));
  assert.deepEqual(
    kept(plan).map((d) => [d.snapshot.id, d.reasons]),
    [
      ["s11", ["daily snapshot", "newest successful snapshot"]],
      ["s10", ["daily snapshot"]],
      ["s9", ["daily snapshot"]],
      ["s8", ["daily snapshot"]],
    ],
  );
  assert.deepEqual(
    plan.filter((d) => d.action === "forget").map((d) => d.snapshot.id),
    ["s7", "s6", "s5", "s4", "s3", "s2", "s1", "s0"],
  );
  assert.ok(plan.filter((d) => d.action === "forget").every((d) => d.reasons.length === 0 && d.because === "no keep rule matches it"));
});

test("restic manual: a daily backup for years with --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75", () => {
  // The manual: 7 dailies, 4 more weekly (the dailies hold one), 12 or 11 more monthly and 75 or 74
  // more yearly, depending on which coincide with snapshots other rules already keep.
  const list: RetentionSnapshot[] = [];
  const start = Date.UTC(1950, 0, 1, 22);
  const end = Date.UTC(2026, 10, 22, 22); // a Sunday
  for (let t = start, i = 0; t <= end; t += 86_400_000, i++) list.push(snap(`d${i}`, new Date(t).toISOString()));
  const plan = planRetention(list, rules({ keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 75 }), new Date(end + 3_600_000));
  const by = (reason: string) => kept(plan).filter((d) => d.reasons.includes(reason));
  assert.equal(by("daily snapshot").length, 7);
  assert.equal(by("weekly snapshot").length, 5);
  assert.equal(by("weekly snapshot").filter((d) => !d.reasons.includes("daily snapshot")).length, 4);
  const keptAlsoBy = (reason: string, others: string[]) => by(reason).filter((d) => !d.reasons.some((r) => others.includes(r))).length;
  assert.equal(by("monthly snapshot").length, 12);
  assert.equal(keptAlsoBy("monthly snapshot", ["daily snapshot", "weekly snapshot"]), 11); // November's is the newest daily
  assert.equal(by("yearly snapshot").length, 75);
  // 2026's is the newest daily, and 2025's (31 December) is also December's monthly.
  assert.equal(keptAlsoBy("yearly snapshot", ["daily snapshot", "weekly snapshot", "monthly snapshot"]), 73);
  // 1950..2026 is 77 years: the 75 yearly counts are used up, so the oldest is not kept extra.
  assert.equal(by("yearly snapshot").at(-1)!.snapshot.time.toISOString(), "1952-12-31T22:00:00.000Z");
  assert.equal(kept(plan).length, 7 + 4 + 11 + 73);
});

// restic's internal/restic/snapshot_policy_test.go fixture (tags and paths left out: we have neither).
const FIXTURE = [
  "2014-09-01 10:20:30", "2014-09-02 10:20:30", "2014-09-05 10:20:30", "2014-09-06 10:20:30", "2014-09-08 10:20:30",
  "2014-09-09 10:20:30", "2014-09-10 10:20:30", "2014-09-11 10:20:30", "2014-09-20 10:20:30", "2014-09-22 10:20:30",
  "2014-08-08 10:20:30", "2014-08-10 10:20:30", "2014-08-12 10:20:30", "2014-08-13 10:20:30", "2014-08-13 10:20:30.1",
  "2014-08-15 10:20:30", "2014-08-18 10:20:30", "2014-08-20 10:20:30", "2014-08-21 10:20:30", "2014-08-22 10:20:30",
  "2014-10-01 10:20:30", "2014-10-02 10:20:30", "2014-10-05 10:20:30", "2014-10-06 10:20:30", "2014-10-08 10:20:30",
  "2014-10-09 10:20:30", "2014-10-10 10:20:30", "2014-10-11 10:20:30", "2014-10-20 10:20:30", "2014-10-22 10:20:30",
  "2014-11-08 10:20:30", "2014-11-10 10:20:30", "2014-11-12 10:20:30", "2014-11-13 10:20:30", "2014-11-13 10:20:30.1",
  "2014-11-15 10:20:30", "2014-11-18 10:20:30", "2014-11-20 10:20:30", "2014-11-21 10:20:30", "2014-11-22 10:20:30",
  "2015-09-01 10:20:30", "2015-09-02 10:20:30", "2015-09-05 10:20:30", "2015-09-06 10:20:30", "2015-09-08 10:20:30",
  "2015-09-09 10:20:30", "2015-09-10 10:20:30", "2015-09-11 10:20:30", "2015-09-20 10:20:30", "2015-09-22 10:20:30",
  "2015-08-08 10:20:30", "2015-08-10 10:20:30", "2015-08-12 10:20:30", "2015-08-13 10:20:30", "2015-08-13 10:20:30.1",
  "2015-08-15 10:20:30", "2015-08-18 10:20:30", "2015-08-20 10:20:30", "2015-08-21 10:20:30", "2015-08-22 10:20:30",
  "2015-10-01 10:20:30", "2015-10-02 10:20:30", "2015-10-05 10:20:30", "2015-10-06 10:20:30", "2015-10-08 10:20:30",
  "2015-10-09 10:20:30", "2015-10-10 10:20:30", "2015-10-11 10:20:30", "2015-10-20 10:20:30", "2015-10-22 10:20:30",
  "2015-10-22 10:20:30", "2015-10-22 10:20:30", "2015-10-22 10:20:30", "2015-10-22 10:20:30",
  "2015-11-08 10:20:30", "2015-11-10 10:20:30", "2015-11-12 10:20:30", "2015-11-13 10:20:30", "2015-11-13 10:20:30.1",
  "2015-11-15 10:20:30", "2015-11-18 10:20:30", "2015-11-20 10:20:30", "2015-11-21 10:20:30", "2015-11-22 10:20:30",
  "2016-01-01 01:02:03", "2016-01-01 01:03:03", "2016-01-01 07:08:03", "2016-01-03 07:02:03", "2016-01-04 10:23:03",
  "2016-01-04 11:23:03", "2016-01-04 12:23:03", "2016-01-04 12:24:03", "2016-01-04 12:28:03", "2016-01-04 12:30:03",
  "2016-01-04 16:23:03", "2016-01-05 09:02:03", "2016-01-06 08:02:03", "2016-01-07 10:02:03", "2016-01-08 20:02:03",
  "2016-01-09 21:02:03", "2016-01-12 21:02:03", "2016-01-12 21:08:03", "2016-01-18 12:02:03",
].map((t, i) => snap(`f${i}`, `${t.replace(" ", "T")}Z`));

test("restic fixture, golden policy_keep_snapshots_6: --keep-daily 3", () => {
  const plan = planRetention(FIXTURE, rules({ keepDaily: 3 }), LATER);
  assert.deepEqual(keptTimes(plan), ["2016-01-18T12:02:03Z", "2016-01-12T21:08:03Z", "2016-01-09T21:02:03Z"]);
  assert.deepEqual(kept(plan).map((d) => d.reasons), [["daily snapshot", "newest successful snapshot"], ["daily snapshot"], ["daily snapshot"]]);
});

test("restic fixture, golden policy_keep_snapshots_13: --keep-daily 3 --keep-weekly 4", () => {
  const plan = planRetention(FIXTURE, rules({ keepDaily: 3, keepWeekly: 4 }), LATER);
  assert.deepEqual(
    kept(plan).map((d) => [d.snapshot.time.toISOString().replace(".000", ""), d.reasons.filter((r) => r !== "newest successful snapshot")]),
    [
      ["2016-01-18T12:02:03Z", ["daily snapshot", "weekly snapshot"]],
      ["2016-01-12T21:08:03Z", ["daily snapshot", "weekly snapshot"]],
      ["2016-01-09T21:02:03Z", ["daily snapshot", "weekly snapshot"]],
      ["2016-01-03T07:02:03Z", ["weekly snapshot"]],
    ],
  );
});

test("restic fixture, golden policy_keep_snapshots_17: --keep-daily 7 --keep-weekly 2 --keep-monthly 3 --keep-yearly 10", () => {
  const plan = planRetention(FIXTURE, rules({ keepDaily: 7, keepWeekly: 2, keepMonthly: 3, keepYearly: 10 }), LATER);
  assert.deepEqual(
    kept(plan).map((d) => [d.snapshot.time.toISOString().replace(".000", ""), d.reasons.filter((r) => r !== "newest successful snapshot")]),
    [
      ["2016-01-18T12:02:03Z", ["daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"]],
      ["2016-01-12T21:08:03Z", ["daily snapshot", "weekly snapshot"]],
      ["2016-01-09T21:02:03Z", ["daily snapshot"]],
      ["2016-01-08T20:02:03Z", ["daily snapshot"]],
      ["2016-01-07T10:02:03Z", ["daily snapshot"]],
      ["2016-01-06T08:02:03Z", ["daily snapshot"]],
      ["2016-01-05T09:02:03Z", ["daily snapshot"]],
      ["2015-11-22T10:20:30Z", ["monthly snapshot", "yearly snapshot"]],
      ["2015-10-22T10:20:30Z", ["monthly snapshot"]],
      ["2014-11-22T10:20:30Z", ["yearly snapshot"]],
      // Not in that (older) golden file: since restic 0.16 a rule with counts left (yearly: 7) also
      // keeps the oldest snapshot, reported as "oldest yearly snapshot".
      ["2014-08-08T10:20:30Z", ["oldest yearly snapshot"]],
    ],
  );
  // Of five snapshots with the same time, restic keeps the first listed: sorting is stable.
  assert.equal(kept(plan)[8]!.snapshot.id, "f69");
});

test("restic fixture, golden policy_keep_snapshots_26: --keep-within 1y1d1m counts back from the newest snapshot, not from now", () => {
  const plan = planRetention(FIXTURE, rules({ keepWithin: "1y1d1mo" }), LATER);
  const keptList = kept(plan);
  assert.equal(keptList.length, 63);
  assert.ok(keptList.every((d) => d.snapshot.time >= new Date("2015-08-08T10:20:30Z") && d.reasons[0] === "within 1y1m1d"));
  assert.ok(plan.filter((d) => d.action === "forget").every((d) => d.snapshot.time.getUTCFullYear() === 2014));
});

test("keep-within's cut is exclusive, and a future-dated snapshot does not move it", () => {
  const list = [
    snap("future", "2026-12-01T00:00:00Z"),
    snap("a", "2026-11-20T12:00:00Z"),
    snap("b", "2026-11-18T12:00:01Z"),
    snap("c", "2026-11-18T12:00:00Z"),
  ];
  const plan = planRetention(list, rules({ keepWithin: "2d" }), new Date("2026-11-23T00:00:00Z"));
  assert.deepEqual(
    plan.map((d) => [d.snapshot.id, d.action, d.reasons]),
    [
      ["future", "keep", ["within 2d"]],
      ["a", "keep", ["within 2d", "newest successful snapshot"]],
      ["b", "keep", ["within 2d"]],
      ["c", "forget", []],
    ],
  );
});

test("keep-last, and the oldest rule: with counts left the oldest snapshot is kept and marked", () => {
  const list = [snap("n", "2026-11-22T10:00:00Z"), snap("m", "2026-11-22T09:00:00Z"), snap("o", "2026-11-22T08:00:00Z")];
  const last = planRetention(list, rules({ keepLast: 2 }), LATER);
  assert.deepEqual(last.map((d) => d.action), ["keep", "keep", "forget"]);
  const daily = planRetention(list, rules({ keepDaily: 5 }), LATER);
  assert.deepEqual(daily.map((d) => [d.snapshot.id, d.reasons]), [
    ["n", ["daily snapshot", "newest successful snapshot"]],
    ["m", []],
    ["o", ["oldest daily snapshot"]],
  ]);
});

test("an empty policy keeps everything, as restic refuses to act on one", () => {
  const plan = planRetention(FIXTURE.slice(0, 5), rules({}), LATER);
  assert.ok(plan.every((d) => d.action === "keep" && d.reasons[0] === "policy is empty"));
});

test("a protected snapshot is never forgotten, and says why it stays", () => {
  const list = [snap("new", "2026-11-22T01:00:00Z"), snap("old", "2026-01-01T01:00:00Z", { protected: true }), snap("mid", "2026-06-01T01:00:00Z")];
  const plan = planRetention(list, rules({ keepLast: 1 }), LATER);
  assert.deepEqual(plan.map((d) => [d.snapshot.id, d.action, d.reasons]), [
    ["new", "keep", ["last snapshot", "newest successful snapshot"]],
    ["mid", "forget", []],
    ["old", "keep", ["protected"]],
  ]);
});

test("only successful snapshots count: a damaged newest snapshot neither uses up keep-last nor survives it", () => {
  const list = [
    snap("damaged", "2026-11-22T01:00:00Z", { successful: false }),
    snap("good", "2026-11-21T01:00:00Z"),
    snap("older", "2026-11-20T01:00:00Z"),
    snap("damaged-protected", "2026-11-19T01:00:00Z", { successful: false, protected: true }),
  ];
  const plan = planRetention(list, rules({ keepLast: 1, keepDaily: 1 }), LATER);
  assert.deepEqual(plan.map((d) => [d.snapshot.id, d.action, d.reasons]), [
    ["damaged", "forget", []],
    ["good", "keep", ["last snapshot", "daily snapshot", "newest successful snapshot"]],
    ["older", "forget", []],
    ["damaged-protected", "keep", ["protected"]],
  ]);
  assert.equal(plan[0]!.because, "not successful: keep rules count and keep only successful snapshots (protect it to keep it)");
});

test("the newest successful snapshot survives even when the rules would drop it (a future-dated snapshot took the slot)", () => {
  const list = [snap("skewed", "2026-11-24T00:00:00Z"), snap("real", "2026-11-22T23:00:00Z")];
  const plan = planRetention(list, rules({ keepLast: 1 }), new Date("2026-11-23T00:00:00Z"));
  assert.deepEqual(plan.map((d) => [d.snapshot.id, d.action, d.reasons]), [
    ["skewed", "keep", ["last snapshot"]],
    ["real", "keep", ["newest successful snapshot"]],
  ]);
});

test("days and weeks begin in the policy's time zone; weeks are ISO weeks, Monday to Sunday", () => {
  const list = [snap("late", "2026-06-01T23:30:00Z"), snap("evening", "2026-06-01T21:30:00Z"), snap("before", "2026-05-31T12:00:00Z")];
  const utc = planRetention(list, rules({ keepDaily: 2 }), LATER);
  assert.deepEqual(utc.map((d) => d.action), ["keep", "forget", "keep"]);
  // In Berlin (UTC+2) "late" is already 2 June, so "evening" is the newest of 1 June.
  const berlin = planRetention(list, rules({ keepDaily: 2 }), LATER, { timezone: "Europe/Berlin" });
  assert.deepEqual(berlin.map((d) => d.action), ["keep", "keep", "forget"]);
  // Sunday 2026-11-22 23:00 and Monday 2026-11-23 01:00 are different ISO weeks (47 and 48).
  const weeks = planRetention(
    [snap("mon", "2026-11-23T01:00:00Z"), snap("sun", "2026-11-22T23:00:00Z"), snap("sat", "2026-11-21T23:00:00Z")],
    rules({ keepWeekly: 2 }),
    LATER,
  );
  assert.deepEqual(weeks.map((d) => [d.snapshot.id, d.reasons.filter((r) => r !== "newest successful snapshot")]), [
    ["mon", ["weekly snapshot"]],
    ["sun", ["weekly snapshot"]],
    ["sat", []],
  ]);
  // ISO week-year: 2027-01-01 (a Friday) still belongs to 2026's week 53, like 2026-12-28.
  const newYear = planRetention([snap("fri", "2027-01-01T12:00:00Z"), snap("mon", "2026-12-28T12:00:00Z")], rules({ keepWeekly: 1 }), LATER);
  assert.deepEqual(newYear.map((d) => d.action), ["keep", "forget"]);
});
