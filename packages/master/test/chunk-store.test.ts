import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chunkId } from "@pullback/common";
import { ChunkStore, Store, MissingChunkError } from "../src/index.js";

test("group commit: a chunk becomes visible under chunks/ only once durable, and is never replaced", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pullback-cs-"));
  try {
    const store = await Store.create(dir);
    const plain = randomBytes(5000);
    const id = chunkId(plain);
    assert.deepEqual(await store.chunks.put(id, "none", plain.length, plain), { written: true, storedBytes: 5012 });
    // Pending: known to this process, not yet in chunks/ (a crash now leaves only tmp/ garbage).
    assert.equal(await store.chunks.has(id), true);
    assert.equal(existsSync(store.chunks.pathOf(id)), false);
    assert.equal(readdirSync(join(dir, "tmp")).length, 1);
    await assert.rejects(store.chunks.get(id), MissingChunkError);
    await store.chunks.flush();
    assert.equal(existsSync(store.chunks.pathOf(id)), true);
    assert.deepEqual(readdirSync(join(dir, "tmp")), []);
    assert.deepEqual(await store.chunks.get(id), plain);
    const ino = statSync(store.chunks.pathOf(id)).ino;

    const again = new ChunkStore({ chunks: join(dir, "chunks"), tmp: join(dir, "tmp"), damaged: join(dir, "damaged") });
    assert.deepEqual(await again.put(id, "none", plain.length, plain), { written: false, storedBytes: 0 });
    assert.equal(statSync(store.chunks.pathOf(id)).ino, ino);

    // Two writers (two backups in two processes) racing on one new chunk: the second commit keeps the first's file.
    const p2 = randomBytes(7000);
    const id2 = chunkId(p2);
    const w1 = new ChunkStore({ chunks: join(dir, "chunks"), tmp: join(dir, "tmp"), damaged: join(dir, "damaged") });
    const w2 = new ChunkStore({ chunks: join(dir, "chunks"), tmp: join(dir, "tmp"), damaged: join(dir, "damaged") });
    await w1.put(id2, "none", p2.length, p2);
    await w2.put(id2, "none", p2.length, p2);
    await w1.flush();
    const ino2 = statSync(w1.pathOf(id2)).ino;
    await w2.flush();
    assert.equal(statSync(w2.pathOf(id2)).ino, ino2);
    assert.deepEqual(readdirSync(join(dir, "tmp")), [], "the loser's tmp copy is removed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("checkpoints happen on their own once enough is pending", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pullback-cs-"));
  try {
    await Store.create(dir);
    const cs = new ChunkStore({ chunks: join(dir, "chunks"), tmp: join(dir, "tmp"), damaged: join(dir, "damaged") }, { checkpointBytes: 64 * 1024, checkpointMs: 60_000 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const p = randomBytes(10_000);
      ids.push(chunkId(p));
      await cs.put(ids.at(-1)!, "none", p.length, p);
    }
    // 64 KiB threshold: the first batch (six or seven chunks) was committed in the background, and
    // the put that filled the second batch waited for it.
    assert.ok(existsSync(cs.pathOf(ids[0]!)));
    assert.ok(!existsSync(cs.pathOf(ids[19]!)));
    await cs.flush();
    assert.ok(ids.every((id) => existsSync(cs.pathOf(id))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a failed background checkpoint fails the backups that were writing, not the ones begun after it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pullback-cs-"));
  try {
    await Store.create(dir);
    // A chunk's tmp file gone before its checkpoint links it (as on a failing disk): the link fails.
    const cs = new ChunkStore({ chunks: join(dir, "chunks"), tmp: join(dir, "tmp"), damaged: join(dir, "damaged") }, { checkpointBytes: 1500, checkpointMs: 60_000 });
    const session = cs.begin();
    const p = randomBytes(1000);
    await cs.put(chunkId(p), "none", p.length, p);
    for (const f of readdirSync(join(dir, "tmp"))) rmSync(join(dir, "tmp", f));
    const q = randomBytes(1000);
    await cs.put(chunkId(q), "none", q.length, q); // starts the checkpoint in the background
    await assert.rejects(cs.flush(session), /cannot make new chunks durable in the store \(ENOENT/);
    assert.throws(() => cs.checkSince(session), /ENOENT/);
    // The lost chunks are forgotten: the store no longer claims them, and nothing of them is left.
    assert.equal(await cs.has(chunkId(p)), false);
    assert.equal(await cs.has(chunkId(q)), false);
    assert.deepEqual(readdirSync(join(dir, "tmp")), []);
    // A backup begun after the failure (the daemon goes on) stores them again.
    const later = cs.begin();
    await cs.put(chunkId(p), "none", p.length, p);
    await cs.flush(later);
    assert.deepEqual(await cs.get(chunkId(p)), p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
