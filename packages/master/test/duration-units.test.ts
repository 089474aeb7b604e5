import { test } from "node:test";
import assert from "node:assert/strict";
import { DurationError } from "../src/errors.js";
import { keepWithinProblem, parseFixedDuration, parseKeepWithin } from "../src/policy/duration.js";
import { retentionSchema } from "../src/policy/index.js";

test("a bare m is refused with the two spellings that mean something", () => {
  assert.throws(() => parseFixedDuration("15m"), (e: Error) => e instanceof DurationError && e.message === "15m is ambiguous: write 15min for minutes or 15mo for months");
  assert.equal(keepWithinProblem("15m"), "15m is ambiguous: write 15min for minutes or 15mo for months");
  assert.equal(keepWithinProblem("1y1d1m"), "1m is ambiguous: write 1min for minutes or 1mo for months");
  const r = retentionSchema.safeParse({ keepWithin: "3m" });
  assert.ok(!r.success);
  assert.match(r.error.issues[0]!.message, /3m is ambiguous: write 3min for minutes or 3mo for months/);
});

test("fixed durations: s, min, h, d, w; months and years have no fixed length", () => {
  assert.equal(parseFixedDuration("90s"), 90_000);
  assert.equal(parseFixedDuration("15min"), 900_000);
  assert.equal(parseFixedDuration("1h30min"), 5_400_000);
  assert.equal(parseFixedDuration("2d"), 172_800_000);
  assert.equal(parseFixedDuration("1w"), 604_800_000);
  assert.equal(parseFixedDuration("0s"), 0);
  assert.throws(() => parseFixedDuration("1mo"), /no fixed length/);
  assert.throws(() => parseFixedDuration("15 min"), /invalid duration/);
  assert.throws(() => parseFixedDuration("15x"), /"x" is not a unit/);
});

test("keepWithin: calendar months and years, weeks as seven days", () => {
  assert.deepEqual(parseKeepWithin("1y6mo"), { years: 1, months: 6, days: 0, hours: 0 });
  assert.deepEqual(parseKeepWithin("2months1w12h"), { years: 0, months: 2, days: 7, hours: 12 });
  assert.equal(parseKeepWithin("15m"), null);
  assert.match(keepWithinProblem("30min")!, /not minutes or seconds/);
});
