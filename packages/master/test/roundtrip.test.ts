import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, openSync, writeSync, closeSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SnapshotRecord } from "@pullback/common";
import { Store, backupDirectory, restoreSnapshot } from "../src/index.js";
import { makeTrickyTree, SeededStream } from "./support/tricky-tree.js";
import { allocatedKiB, requireTool, treeDifferences } from "./support/tools.js";

const MiB = 1024 * 1024;
let work: string;
let src: string;
let store: Store;
let first: SnapshotRecord;

before(async () => {
  requireTool("rsync", "rsync");
  requireTool("mkfifo", "coreutils");
  work = mkdtempSync(join(tmpdir(), "pullback-roundtrip-"));
  src = join(work, "src");
  // Seeded: the 1% test's bound depends on where the chunker cuts around the change.
  makeTrickyTree(src, { largeMiB: 200, sparseMiB: 1024, seed: "roundtrip large.bin" });
  store = await Store.create(join(work, "store"));
  first = await backupDirectory({ store, dir: src, node: "local", source: "tricky", level: "full" });
});

after(() => rmSync(work, { recursive: true, force: true }));

test("a tricky tree restores byte-for-byte and metadata-for-metadata, holes as holes", async () => {
  assert.equal(first.level, "full");
  assert.deepEqual(first.warnings, []);
  const target = join(work, "restore-full");
  // Onto the machine it came from: setuid/setgid bits and devices come back as they were.
  const res = await restoreSnapshot({ store, snapshot: first, target, keepSpecial: true });
  assert.deepEqual(res.errors, []);
  assert.equal(treeDifferences(src, target), "", "rsync -aHAX --checksum sees differences");
  // Three 1 MiB islands in a 1 GiB file: the restored file must stay sparse.
  const srcKiB = allocatedKiB(join(src, "disk.img"));
  const outKiB = allocatedKiB(join(target, "disk.img"));
  assert.ok(outKiB <= srcKiB + 1024, `restored sparse file allocates ${outKiB} KiB, original ${srcKiB} KiB`);
  assert.equal(statSync(join(target, "disk.img")).size, 1024 * MiB);
  // Hardlinks restored as links, not copies.
  assert.equal(statSync(join(target, "hardlink-to-text")).ino, statSync(join(target, "nested/text.txt")).ino);
});

test("the holes of a sparse file are neither stored nor counted as new data", () => {
  // 200 MiB random + 3 MiB of sparse islands + small files; the 1 GiB of zeros costs nothing.
  assert.ok(first.stats.bytesNew < 210 * MiB, `bytesNew ${first.stats.bytesNew}`);
  assert.ok(first.stats.bytesTotal > 1224 * MiB);
});

test("a second backup of the unchanged tree stores almost nothing and reads nothing", async () => {
  const again = await backupDirectory({ store, dir: src, node: "local", source: "tricky", level: "incremental" });
  assert.equal(again.level, "incremental");
  assert.equal(again.baseId, first.id);
  assert.equal(again.stats.bytesRead, 0);
  assert.ok(again.stats.bytesNew < 64 * 1024, `unchanged backup stored ${again.stats.bytesNew} new bytes`);
  // A full re-reads every byte yet still stores (almost) nothing new.
  const full = await backupDirectory({ store, dir: src, node: "local", source: "tricky", level: "full" });
  assert.ok(full.stats.bytesRead >= 1224 * MiB);
  assert.ok(full.stats.bytesNew < 64 * 1024, `unchanged full stored ${full.stats.bytesNew} new bytes`);
});

test("changing 1% of a large file stores about that 1%", async () => {
  const path = join(src, "large.bin");
  const fd = openSync(path, "r+");
  writeSync(fd, new SeededStream("roundtrip change").next(2 * MiB), 0, 2 * MiB, 97 * MiB); // 2 MiB of 200 MiB, in one place
  closeSync(fd);
  const snap = await backupDirectory({ store, dir: src, node: "local", source: "tricky", level: "incremental" });
  // CDC realigns within a chunk or two on each side of the change (average 1 MiB, max 4 MiB).
  assert.ok(snap.stats.bytesNew >= 2 * MiB, `stored ${snap.stats.bytesNew}`);
  assert.ok(snap.stats.bytesNew <= 2 * MiB + 8 * MiB, `stored ${snap.stats.bytesNew} new bytes for a 2 MiB change`);
  const target = join(work, "restore-changed");
  const res = await restoreSnapshot({ store, snapshot: snap, target, keepSpecial: true });
  assert.deepEqual(res.errors, []);
  assert.equal(treeDifferences(src, target), "");
});

test("a corrupted chunk is detected on restore, naming the chunk and the file", async () => {
  const snap = await backupDirectory({ store, dir: src, node: "local", source: "tricky", level: "incremental" });
  // Corrupt the only chunk of the deepest note by flipping bytes in its chunk file.
  const { readManifest } = await import("../src/index.js");
  let victim: { id: string } | undefined;
  for await (const e of readManifest(store.chunks, snap.manifest)) if (e.path === "nested/deeper/deepest/note.txt") victim = e.chunks?.[0];
  assert.ok(victim);
  const file = store.chunks.pathOf(victim.id);
  const fd = openSync(file, "r+");
  writeSync(fd, Buffer.from([0xff, 0xee]), 0, 2, statSync(file).size - 3);
  closeSync(fd);
  const target = join(work, "restore-corrupt");
  const res = await restoreSnapshot({ store, snapshot: snap, target });
  assert.ok(res.errors.length >= 1);
  const err = res.errors.find((e) => e.startsWith("nested/deeper/deepest/note.txt:"));
  assert.ok(err, `errors: ${res.errors.join("; ")}`);
  assert.match(err, new RegExp(`chunk ${victim.id} is damaged`));
  // Everything else came back.
  assert.equal(treeDifferences(join(src, "nested/deeper/deepest"), join(target, "nested/deeper/deepest")).split("\n").filter((l) => !l.startsWith(".d")).join(), ">fc.tp..... note.txt", "only the damaged file differs (partial, without its metadata)");
  assert.ok(readdirSync(join(target, "nested")).includes("text.txt"));
});
