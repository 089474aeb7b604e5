import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { chunkId, compress, initCodecs, type Entry } from "@pullback/common";
import { Store, SnapshotWriter, BackupRejectedError, backupDirectory, restoreSnapshot } from "../src/index.js";
import { writeRandomFile } from "./support/tricky-tree.js";
import { treeDifferences } from "./support/tools.js";

let work: string;
let store: Store;
before(async () => {
  await initCodecs();
  work = mkdtempSync(join(tmpdir(), "pullback-writer-"));
  store = await Store.create(join(work, "store"));
});
after(() => rmSync(work, { recursive: true, force: true }));

function writer() {
  return new SnapshotWriter(store, { node: "n1", source: "s1", sourceType: "fs", level: "full", requestedLevel: "full", base: null, codec: { name: "lz4" } });
}
function fileEntry(path: string, extra: Partial<Entry> = {}): Entry {
  return { path, type: "file", mode: 0o644, uid: 0, gid: 0, mtimeNs: "1", atimeNs: "1", ctimeNs: "1", size: 0, ino: 1, dev: 1, ...extra };
}

test("a chunk whose bytes do not match its id is refused and nothing of it is stored", async () => {
  const w = writer();
  const plain = randomBytes(10_000);
  const lie = "0".repeat(64);
  const c = compress(plain, { name: "lz4" });
  await assert.rejects(w.addChunk(lie, c.codec, plain.length, c.data), (e: Error) => e instanceof BackupRejectedError && /does not match its SHA-256/.test(e.message));
  assert.equal(await store.chunks.has(lie), false);
  // Garbage that does not decode is refused too.
  await assert.rejects(w.addChunk(chunkId(plain), "lz4", plain.length, randomBytes(500)), /cannot be decoded|does not match/);
  assert.equal(await store.chunks.has(chunkId(plain)), false);
});

test("entries from a node are validated: paths, order, chunk references, tiling", async () => {
  await assert.rejects(writer().addEntry(fileEntry("../../etc/passwd"), false), /rejected: field path = "..\/..\/etc\/passwd" is not a plain relative path: path component/);
  await assert.rejects(writer().addEntry(fileEntry("/etc/passwd"), false), /absolute path/);
  await assert.rejects(writer().addEntry(fileEntry("dir/file"), false), /before its directory dir/);
  const missing = { id: "f".repeat(64), off: 0, len: 10 };
  await assert.rejects(writer().addEntry(fileEntry("f", { size: 10, chunks: [missing] }), false), /did not send in this backup and no earlier snapshot of this source holds/);
  const w = writer();
  const plain = randomBytes(100);
  const id = chunkId(plain);
  await w.addChunk(id, "none", plain.length, plain);
  await assert.rejects(w.addEntry(fileEntry("g", { size: 150, chunks: [{ id, off: 0, len: 100 }] }), false), /cover 100 bytes of 150/);
  await assert.rejects(writer().addEntry(fileEntry("u", { size: 5 }), true), /claims to be unchanged/);
  await assert.rejects(writer().addEntry(fileEntry("h", { type: "hardlink", target: "nope" }), false), /not an earlier file/);
});

test("a backup killed mid-way leaves no snapshot, damages nothing, and the next run reuses its chunks", async () => {
  const src = join(work, "crash-src");
  mkdirSync(src);
  writeFileSync(join(src, "small.txt"), "before\n");
  const earlier = await backupDirectory({ store, dir: src, node: "local", source: "crash", level: "full" });
  for (let i = 0; i < 4; i++) writeRandomFile(join(src, `big-${i}.bin`), 64);

  const child = spawn(process.execPath, [fileURLToPath(new URL("./support/backup-child.js", import.meta.url)), store.dir, src], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  await new Promise<void>((resolve) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const read = Number(out.trimEnd().split("\n").at(-2) ?? 0);
      // Past three 64 MiB checkpoints: at least the first is durable and must be reused.
      if (read > 192 * 1024 * 1024 && !child.killed) child.kill("SIGKILL");
    });
    child.on("exit", () => resolve());
  });
  assert.ok(!out.includes("sealed"), "the child finished before it could be killed");
  const snaps = await store.snapshots.list({ node: "local", source: "crash" });
  assert.deepEqual(snaps.map((s) => s.id), [earlier.id], "a killed backup must leave no snapshot");

  // The earlier snapshot still restores exactly what it held.
  const target = join(work, "crash-restore");
  const res = await restoreSnapshot({ store, snapshot: earlier, target });
  assert.deepEqual(res.errors, []);
  assert.deepEqual(readdirSync(target), ["small.txt"]);

  const next = await backupDirectory({ store, dir: src, node: "local", source: "crash", level: "full" });
  assert.ok(next.stats.bytesNew < 200 * 1024 * 1024, `next run stored ${next.stats.bytesNew} new bytes: the killed run's chunks were not reused`);
  const target2 = join(work, "crash-restore-2");
  await restoreSnapshot({ store, snapshot: next, target: target2 });
  assert.equal(treeDifferences(src, target2), "");
});
