/**
 * The master refuses entries its catalog cannot hold (a path past MAX_PATH_BYTES, a time outside
 * the years 1678..2261) and fails such a backup: a hostile node must not seal an unindexable
 * snapshot. An honest agent meeting such a file on its disk must not lose the whole backup over
 * it: it skips the path, or records the nearest time the catalog holds, and says so.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_PATH_BYTES, MAX_TIME_NS, type SnapshotRecord } from "@pullback/common";
import { Testbed } from "./support/testbed.js";

let tb: Testbed;
let data: string;

before(async () => {
  tb = await Testbed.create();
  data = join(tb.dir, "odd");
  mkdirSync(data);
  writeFileSync(join(data, "ok.txt"), "fine\n");
  // 14 nested names of 200 bytes: a path of ~2.8 KB below the source root, legal on Linux.
  let deep = data;
  for (let i = 0; i < 14; i++) deep = join(deep, `${String(i).padStart(2, "0")}${"d".repeat(198)}`);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, "deep.txt"), "too deep for the catalog\n");
  writeFileSync(join(data, "future.txt"), "from the 24th century\n");
  utimesSync(join(data, "future.txt"), new Date(Date.UTC(2300, 0, 1)), new Date(Date.UTC(2300, 0, 1)));
  await tb.addAgent("odd", [data], []);
  tb.ok(["source", "add", "odd", "tree", "--path", data]);
});

after(async () => {
  await tb?.destroy();
});

test("an over-long path is skipped and a far-future time recorded as the nearest one the catalog holds, with warnings", async () => {
  const r = await tb.cliAwait(["backup", "odd", "tree", "--level", "full", "--json"]);
  assert.equal(r.code, 3, `the backup completes with warnings: ${r.stderr}`);
  const snap = (JSON.parse(r.stdout) as { snapshot: SnapshotRecord }).snapshot;
  const warnings = snap.warnings.join("\n");
  assert.match(warnings, new RegExp(`not backed up: its path is \\d+ bytes long, more than the ${MAX_PATH_BYTES}`));
  assert.match(warnings, /future\.txt: a time outside the years 1678\.\.2261/);
  const paths = tb.json<{ path: string }[]>(["ls", snap.id]).map((e) => e.path);
  assert.ok(paths.includes("ok.txt") && paths.includes("future.txt"));
  assert.ok(!paths.some((p) => p.endsWith("deep.txt")), "the over-long path is not in the snapshot");
  assert.ok(paths.every((p) => Buffer.byteLength(p) <= MAX_PATH_BYTES));
  // Indexed by the catalog, with the nearest time it holds.
  const [version] = tb.json<{ mtimeNs: string }[]>(["versions", "odd", "future.txt"]);
  assert.equal(version?.mtimeNs, MAX_TIME_NS.toString());
});
