/**
 * `pullback verify` reads back everything the snapshots reference and names what a restore would
 * lose: a chunk with flipped bits and a deleted chunk, each traced to its snapshots and files.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { initCodecs, type SnapshotRecord } from "@pullback/common";
import { Store } from "../src/store/store.js";
import { readManifest } from "../src/store/manifest-io.js";
import { Testbed } from "./support/testbed.js";
import { treeDifferences } from "./support/tools.js";

interface Verified {
  snapshots: number;
  chunks: number;
  damaged: { chunk: string; problem: string; usedBy: { snapshot: string; files: string[] }[] }[];
}

let tb: Testbed;
let data: string;
let firstCopy: string;
const snaps: SnapshotRecord[] = [];

before(async () => {
  tb = await Testbed.create();
  data = tb.localSource("v");
  // Each file below the chunker's minimum (256 KiB) is exactly one chunk: a 300 KB file was cut in
  // two now and then, and the half that was not damaged was rightly not sent again.
  writeFileSync(join(data, "a.bin"), randomBytes(200_000));
  writeFileSync(join(data, "b.bin"), randomBytes(200_000));
  snaps.push(tb.json<{ snapshot: SnapshotRecord }>(["backup", "here", "v"]).snapshot);
  firstCopy = join(tb.dir, "first");
  cpSync(data, firstCopy, { recursive: true, preserveTimestamps: true });
  writeFileSync(join(data, "c.bin"), randomBytes(200_000));
  snaps.push(tb.json<{ snapshot: SnapshotRecord }>(["backup", "here", "v"]).snapshot);
});
after(async () => {
  await tb?.destroy();
});

async function chunkOf(record: SnapshotRecord, path: string): Promise<string> {
  await initCodecs();
  const store = await Store.open(join(tb.home, "store"));
  for await (const e of readManifest(store.chunks, record.manifest)) {
    if (e.path === path) return e.chunks![0]!.id;
  }
  throw new Error(`no ${path} in ${record.id}`);
}

test("an intact store verifies clean, with exit 0", () => {
  const r = tb.cli(["verify", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as Verified;
  assert.equal(v.snapshots, 2);
  assert.ok(v.chunks >= 3 + snaps.length, "data chunks and manifest chunks are all read back");
  assert.deepEqual(v.damaged, []);
});

test("a flipped bit and a missing chunk are found and traced to every snapshot and file that needs them", async () => {
  const a = await chunkOf(snaps[0]!, "a.bin");
  const c = await chunkOf(snaps[1]!, "c.bin");
  const chunkPath = (id: string) => join(tb.home, "store", "chunks", id.slice(0, 2), id.slice(2, 4), id);
  const bytes = readFileSync(chunkPath(a));
  bytes[bytes.length - 1]! ^= 1;
  writeFileSync(chunkPath(a), bytes);
  unlinkSync(chunkPath(c));

  const r = tb.cli(["verify", "--json"]);
  assert.equal(r.code, 1, "damage makes verify fail");
  const v = JSON.parse(r.stdout) as Verified;
  const byChunk = new Map(v.damaged.map((d) => [d.chunk, d]));
  assert.equal(byChunk.size, 2);
  assert.match(byChunk.get(a)!.problem, /damaged .*does not match its SHA-256/);
  assert.deepEqual(byChunk.get(a)!.usedBy.map((u) => [u.snapshot, u.files]).sort(), snaps.map((s) => [s.id, ["a.bin"]]).sort());
  assert.match(byChunk.get(c)!.problem, /missing/);
  assert.deepEqual(byChunk.get(c)!.usedBy.map((u) => [u.snapshot, u.files]), [[snaps[1]!.id, ["c.bin"]]]);

  // One snapshot only, and the human form names the file.
  const one = tb.cli(["verify", snaps[0]!.id]);
  assert.equal(one.code, 1);
  assert.match(one.stdout, new RegExp(`chunk ${a}: .*\\n  snapshot ${snaps[0]!.id} \\(here/v\\): a\\.bin`));
  assert.doesNotMatch(one.stdout, new RegExp(c));
});

test("--repair sets the damage aside; the next incremental stores the data again and every snapshot is whole", () => {
  const r = tb.cli(["verify", "--repair"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /2 chunk\(s\) set aside: the next backup of each affected source sends them again/);
  // Nothing in the source changed: without the repair an incremental would reuse the damaged chunk.
  const healed = tb.json<{ snapshot: SnapshotRecord }>(["backup", "here", "v", "--level", "incremental"]).snapshot;
  assert.ok(healed.stats.bytesNew >= 400_000, `a.bin and c.bin were sent again (${healed.stats.bytesNew} new bytes)`);
  const again = tb.cli(["verify"]);
  assert.equal(again.code, 0, again.stdout);
  assert.match(again.stdout, /3 snapshot\(s\), .*all intact/);
  // The oldest snapshot, whose a.bin was damaged, restores exactly again.
  const target = join(tb.dir, "restore-first");
  tb.ok(["restore", snaps[0]!.id, "--target", target]);
  assert.equal(treeDifferences(firstCopy, target).split("\n").filter((l) => l && !l.startsWith(".d")).join("\n"), "");
  const target2 = join(tb.dir, "restore-healed");
  tb.ok(["restore", healed.id, "--target", target2]);
  assert.equal(treeDifferences(data, target2), "");
});
