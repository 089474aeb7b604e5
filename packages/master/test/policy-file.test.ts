/**
 * Policy files: defaults, assignments of sources, and errors that name the file, the line and the
 * field, so an operator fixes a typo without reading our source.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "@pullback/common";
import { parsePolicy, parsePolicyFile } from "../src/policy/index.js";

const GOOD = `# two policies, three sources
policies:
  - name: nightly
    timezone: Europe/Berlin
    rules:
      - { cron: "0 1 * * 0,4", level: full }
      - { cron: "0 1 * * *", level: differential }
    retention: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepWithin: 2d }
    window: { durationMinutes: 240 }
    timeoutMinutes: 180
    retries: { max: 3, backoffSeconds: 60 }
    priority: 10
    sources: [web1/etc, db1/shop]
  - name: hourly
    rules:
      - cron: "0 */4 * * *"
        level: incremental
    sources: [web1/srv]
`;

function errorOf(text: string): string {
  try {
    parsePolicyFile(text, "policies.yaml");
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail("the file was accepted");
}

test("a policy file declares several policies and which sources use each; omitted fields take defaults", () => {
  const { policies, assignments } = parsePolicyFile(GOOD, "policies.yaml");
  assert.deepEqual(policies[0], {
    name: "nightly",
    timezone: "Europe/Berlin",
    rules: [
      { cron: "0 1 * * 0,4", level: "full" },
      { cron: "0 1 * * *", level: "differential" },
    ],
    retention: { keepLast: 0, keepHourly: 0, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 0, keepWithin: "2d" },
    window: { startOffsetMinutes: 0, durationMinutes: 240 },
    timeoutMinutes: 180,
    retries: { max: 3, backoffSeconds: 60 },
    priority: 10,
  });
  assert.deepEqual(policies[1], {
    name: "hourly",
    timezone: "UTC",
    rules: [{ cron: "0 */4 * * *", level: "incremental" }],
    retention: { keepLast: 0, keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 },
    timeoutMinutes: 1440,
    retries: { max: 2, backoffSeconds: 300 },
    priority: 0,
  });
  assert.deepEqual([...assignments], [
    ["web1/etc", "nightly"],
    ["db1/shop", "nightly"],
    ["web1/srv", "hourly"],
  ]);
});

test("JSON is accepted too", () => {
  const { policies } = parsePolicyFile(JSON.stringify({ policies: [{ name: "p", rules: [{ cron: "@daily", level: "full" }] }] }), "p.json");
  assert.equal(policies[0]!.rules[0]!.cron, "@daily");
});

test("a wrong level names line and field", () => {
  const msg = errorOf(GOOD.replace("level: differential", "level: diff"));
  assert.match(msg, /^invalid configuration:\n {2}policies\.yaml:7: policies\[0\]\.rules\[1\]\.level: level must be one of full, differential, incremental$/);
});

test("a bad time zone, a bad cron pattern and a negative count are all reported, each with its line", () => {
  const text = GOOD.replace("Europe/Berlin", "Europe/Berlim").replace('"0 1 * * 0,4"', '"0 25 * * 0,4"').replace("keepDaily: 7", "keepDaily: -1");
  const lines = errorOf(text).split("\n").slice(1).map((l) => l.trim());
  assert.deepEqual(lines, [
    "policies.yaml:4: policies[0].timezone: timezone must be an IANA time zone name such as UTC or Europe/Berlin",
    'policies.yaml:6: policies[0].rules[0].cron: "0 25 * * 0,4" is not a cron pattern: Invalid value for hour: 25',
    "policies.yaml:8: policies[0].retention.keepDaily: keepDaily cannot be negative (0 = rule off)",
  ]);
});

test("cron patterns with a seconds field are refused with the expected shape", () => {
  assert.match(errorOf(GOOD.replace('"0 */4 * * *"', '"0 0 */4 * * *"')), /policies\.yaml:16: policies\[1\]\.rules\[0\]\.cron: "0 0 \*\/4 \* \* \*" must have exactly 5 fields \(minute hour day-of-month month day-of-week\)/);
});

test("a misspelt field is refused, not ignored", () => {
  assert.match(errorOf(GOOD.replace("keepWeekly", "keepWeakly")), /policies\.yaml:8: policies\[0\]\.retention: Unrecognized key: "keepWeakly"/);
});

test("keepWithin takes restic's durations", () => {
  assert.match(errorOf(GOOD.replace("keepWithin: 2d", "keepWithin: 2 days")), /policies\.yaml:8: policies\[0\]\.retention\.keepWithin: keepWithin must be a duration like "7d"/);
});

test("a source attached to two policies and a duplicate policy name point at the second occurrence", () => {
  const text = GOOD.replace("sources: [web1/srv]", "sources: [web1/srv, db1/shop]").replace("name: hourly", "name: nightly");
  const lines = errorOf(text).split("\n").slice(1).map((l) => l.trim());
  assert.deepEqual(lines, [
    'policies.yaml:14: policies[1].name: policy "nightly" is already declared at policies[0]: rename one',
    'policies.yaml:18: policies[1].sources[1]: source db1/shop is already attached to policy "nightly": a source follows exactly one policy',
  ]);
});

test("a malformed source reference says how to write it", () => {
  assert.match(errorOf(GOOD.replace("web1/srv", "web1")), /policies\.yaml:18: policies\[1\]\.sources\[0\]: each source must be written NODE\/SOURCE, e.g\. web1\/etc/);
});

test("YAML syntax errors name line and column", () => {
  assert.match(errorOf("policies:\n  - name: x\n    rules: [\n"), /^policies\.yaml:\d+:\d+: not valid YAML\/JSON/);
});

test("a policy built in code is validated with the same messages", () => {
  assert.throws(
    () => parsePolicy({ name: "Bad Name", rules: [] }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message ===
        "invalid policy:\n  name: name must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit\n  rules: a policy needs at least one calendar rule (cron + level)",
  );
});
