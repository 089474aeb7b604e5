import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Entry, SnapshotRecord } from "@pullback/common";
import { openCatalog, type Catalog, type OpenedCatalog } from "../src/catalog/index.js";
import { createTestDatabase, type TestDatabase } from "@pullback/testkit";

const NODE = "web1";
const SOURCE = "data";

function chunkId(content: string): string {
  return createHash("sha256").update(content).digest("hex");
}

function fileEntry(path: string, content: string, mode = 0o644): Entry {
  return {
    path,
    type: "file",
    mode,
    uid: 1000,
    gid: 1000,
    mtimeNs: "1700000000123456789",
    atimeNs: "1700000000123456789",
    ctimeNs: "1700000000123456789",
    size: content.length,
    ino: 1,
    dev: 1,
    chunks: [{ id: chunkId(content), off: 0, len: content.length }],
  };
}

function dirEntry(path: string): Entry {
  return { ...fileEntry(path, ""), type: "dir", mode: 0o755, size: 0, chunks: [] };
}

function record(id: string, entries: Entry[], startedAt: string, source = SOURCE): SnapshotRecord {
  const files = entries.filter((e) => e.type === "file");
  return {
    format: "pullback-snapshot/1",
    id,
    node: NODE,
    source,
    sourceType: "fs",
    level: "full",
    requestedLevel: "incremental",
    baseId: null,
    startedAt,
    finishedAt: startedAt.replace(":00.000Z", ":30.000Z"),
    codec: "zstd",
    manifest: { chunks: [chunkId(id)], entries: entries.length, bytes: 1234, sha256: chunkId(`m${id}`) },
    stats: {
      files: files.length,
      dirs: entries.length - files.length,
      otherEntries: 0,
      bytesTotal: files.reduce((n, e) => n + e.size, 0),
      bytesRead: 10,
      bytesNew: 5,
      bytesStored: 3,
      bytesSent: 4,
      chunksTotal: files.length,
      chunksNew: 1,
      warnings: 0,
    },
    warnings: [],
  };
}

/** 30 directories of 99 files: 3,000 entries, sorted by path like a manifest. */
function baseTree(): Map<string, Entry> {
  const m = new Map<string, Entry>();
  for (let d = 0; d < 30; d++) {
    const dir = `srv/d${String(d).padStart(2, "0")}`;
    m.set(dir, dirEntry(dir));
    for (let f = 0; f < 99; f++) {
      const p = `${dir}/f${String(f).padStart(3, "0")}.txt`;
      m.set(p, fileEntry(p, `content of ${p}`));
    }
  }
  return m;
}

const sorted = (m: Map<string, Entry>): Entry[] => [...m.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

async function* slowly(entries: Entry[]): AsyncIterable<Entry> {
  for (const e of entries) yield e;
}

// At module level, not in before(): an unreachable server then fails this file outright.
const db: TestDatabase = await createTestDatabase();

describe("catalog file index", () => {
  let opened: OpenedCatalog;
  let catalog: Catalog;
  let home: string;
  let raw: pg.Client;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "pullback-catalog-"));
    opened = await openCatalog({ databaseUrl: db.url, home });
    catalog = opened.catalog;
    raw = new pg.Client({ connectionString: db.url });
    await raw.connect();
  });
  after(async () => {
    await raw?.end();
    await opened?.close();
    await db.drop();
    rmSync(home, { recursive: true, force: true });
  });

  const t1 = baseTree();
  const t2 = new Map(t1);
  // Snapshot 2: 5 contents change, 2 modes change, 3 files vanish, 4 appear.
  const changed2 = ["srv/d00/f000.txt", "srv/d01/f010.txt", "srv/d02/f020.txt", "srv/d03/f030.txt", "srv/d04/f040.txt"];
  for (const p of changed2) t2.set(p, fileEntry(p, `new content of ${p}`));
  const chmod2 = ["srv/d05/f050.txt", "srv/d06/f060.txt"];
  for (const p of chmod2) t2.set(p, fileEntry(p, `content of ${p}`, 0o600));
  const removed2 = ["srv/d07/f070.txt", "srv/d08/f080.txt", "srv/d09/f090.txt"];
  for (const p of removed2) t2.delete(p);
  const added2 = ["srv/d10/new1.txt", "srv/d10/new2.txt", "srv/d11/new3.txt", "srv/new-top.txt"];
  for (const p of added2) t2.set(p, fileEntry(p, `fresh ${p}`));
  // Snapshot 3: one file changes again, one vanishes, one that vanished in 2 comes back.
  const t3 = new Map(t2);
  t3.set("srv/d00/f000.txt", fileEntry("srv/d00/f000.txt", "third content"));
  t3.delete("srv/d12/f001.txt");
  t3.set("srv/d07/f070.txt", fileEntry("srv/d07/f070.txt", "content of srv/d07/f070.txt"));

  const ids = ["20240101T000000Z-aaaa1111", "20240102T000000Z-aaaa2222", "20240103T000000Z-bbbb3333"];

  it("indexes three snapshots with rows growing only by the changes", async () => {
    await catalog.sources.ensure(NODE, SOURCE, "fs", { path: "/var/www", excludes: ["*.tmp"] });
    const r1 = await catalog.snapshots.record(record(ids[0]!, sorted(t1), "2024-01-01T00:00:00.000Z"), sorted(t1));
    assert.equal(r1.created, true);
    assert.equal(r1.entries, 3000);
    assert.equal(r1.rowsInserted, 3000);
    assert.equal(r1.snapshot.seq, 1);
    assert.equal(await catalog.files.count(), 3000);

    const r2 = await catalog.snapshots.record(record(ids[1]!, sorted(t2), "2024-01-02T00:00:00.000Z"), slowly(sorted(t2)));
    assert.equal(r2.snapshot.seq, 2);
    assert.equal(r2.rowsInserted, changed2.length + chmod2.length + added2.length);
    assert.equal(r2.rowsClosed, changed2.length + chmod2.length + removed2.length);
    assert.equal(await catalog.files.count(), 3000 + 11);

    const r3 = await catalog.snapshots.record(record(ids[2]!, sorted(t3), "2024-01-03T00:00:00.000Z"), sorted(t3));
    assert.equal(r3.snapshot.seq, 3);
    assert.equal(r3.rowsInserted, 2);
    assert.equal(r3.rowsClosed, 2);
    assert.equal(await catalog.files.count({ node: NODE, source: SOURCE }), 3013);
    assert.equal(r3.snapshot.fileCount, sorted(t3).filter((e) => e.type === "file").length);
    assert.equal(r3.snapshot.dirCount, 30);
    assert.equal(r3.snapshot.node, NODE);
    assert.equal(r3.snapshot.sourceType, "fs");
    assert.equal(r3.snapshot.bytesStored, 3);
    assert.equal(r3.snapshot.status, "complete");
    assert.deepEqual(r3.snapshot.manifest, record(ids[2]!, sorted(t3), "2024-01-03T00:00:00.000Z").manifest);
    assert.equal(r3.snapshot.startedAt.toISOString(), "2024-01-03T00:00:00.000Z");
  });

  it("returns exactly each snapshot's entries", async () => {
    for (const [id, tree] of [
      [ids[0]!, t1],
      [ids[1]!, t2],
      [ids[2]!, t3],
    ] as const) {
      const files = await catalog.files.inSnapshot(id);
      assert.deepEqual(
        files.map((f) => f.path),
        sorted(tree).map((e) => e.path),
        `paths of ${id}`,
      );
      for (const f of files) {
        const e = tree.get(f.path)!;
        assert.equal(f.type, e.type);
        assert.equal(f.mode, e.mode, `mode of ${f.path} in ${id}`);
        assert.equal(f.size, e.size);
        assert.equal(f.mtimeNs, e.mtimeNs);
      }
    }
    const s2 = await catalog.files.inSnapshot(ids[1]!);
    const f0 = s2.find((f) => f.path === "srv/d00/f000.txt");
    const f0in1 = (await catalog.files.inSnapshot(ids[0]!)).find((f) => f.path === "srv/d00/f000.txt");
    assert.ok(f0?.fingerprint && f0in1?.fingerprint);
    assert.notEqual(f0.fingerprint, f0in1.fingerprint, "changed content must change the fingerprint");
  });

  it("filters a snapshot by directory prefix", async () => {
    const d10 = await catalog.files.inSnapshot(ids[1]!, "/srv/d10/");
    assert.equal(d10.length, 1 + 99 + 2);
    assert.equal(d10[0]?.path, "srv/d10");
    assert.ok(d10.every((f) => f.path === "srv/d10" || f.path.startsWith("srv/d10/")));
    // "srv/d1" is a name prefix of srv/d10..d19 but not their directory.
    assert.deepEqual(await catalog.files.inSnapshot(ids[1]!, "srv/d1"), []);
    assert.equal((await catalog.files.inSnapshot(ids[1]!, "srv/new-top.txt")).length, 1);
  });

  it("lists every version of a path with the snapshots that hold it", async () => {
    const changedTwice = await catalog.files.versions({ node: NODE, path: "srv/d00/f000.txt" });
    assert.deepEqual(
      changedTwice.map((v) => v.snapshots),
      [[ids[0]], [ids[1]], [ids[2]]],
    );
    assert.deepEqual(
      changedTwice.map((v) => [v.fromSeq, v.toSeq]),
      [
        [1, 2],
        [2, 3],
        [3, null],
      ],
    );
    assert.equal(new Set(changedTwice.map((v) => v.fingerprint)).size, 3);

    const unchanged = await catalog.files.versions({ node: NODE, path: "srv/d20/f005.txt" });
    assert.equal(unchanged.length, 1);
    assert.deepEqual(unchanged[0]?.snapshots, ids);

    const cameBack = await catalog.files.versions({ node: NODE, path: "srv/d07/f070.txt", source: SOURCE });
    assert.deepEqual(
      cameBack.map((v) => v.snapshots),
      [[ids[0]], [ids[2]]],
    );
    // The same content both times: equal fingerprints tell the operator nothing changed inside.
    assert.equal(cameBack[0]?.fingerprint, cameBack[1]?.fingerprint);

    // An absolute path is taken relative to the source root from its config.
    const abs = await catalog.files.versions({ node: NODE, path: "/var/www/srv/d20/f005.txt" });
    assert.deepEqual(abs.map((v) => v.path), ["srv/d20/f005.txt"]);
    assert.deepEqual(await catalog.files.versions({ node: NODE, path: "/etc/passwd" }), []);
    assert.deepEqual(await catalog.files.versions({ node: "no-such-node", path: "srv/d20/f005.txt" }), []);
  });

  it("writes nothing when a snapshot is recorded again", async () => {
    const before = await catalog.files.count();
    let read = 0;
    const counting = function* (): Iterable<Entry> {
      for (const e of sorted(t2)) {
        read++;
        yield e;
      }
    };
    const again = await catalog.snapshots.record(record(ids[1]!, sorted(t2), "2024-01-02T00:00:00.000Z"), counting());
    assert.equal(again.created, false);
    assert.equal(again.snapshot.seq, 2);
    assert.equal(read, 0, "entries of a known snapshot are not read");
    assert.equal(await catalog.files.count(), before);
    assert.equal((await catalog.snapshots.list({ node: NODE })).length, 3);
    const { rows } = await raw.query<{ last_seq: number }>("SELECT last_seq FROM sources");
    assert.deepEqual(rows, [{ last_seq: 3 }], "a replay must not consume a sequence number");
  });

  it("finds snapshots by id prefix and lists them newest first", async () => {
    assert.equal((await catalog.snapshots.get("20240103"))?.id, ids[2]);
    await assert.rejects(catalog.snapshots.get("2024010"), /ambiguous.*20240101T000000Z-aaaa1111/);
    assert.equal(await catalog.snapshots.get("nope"), null);
    assert.equal(await catalog.snapshots.get("2024%"), null);
    assert.deepEqual(
      (await catalog.snapshots.list({ node: NODE, source: SOURCE })).map((s) => s.id),
      [...ids].reverse(),
    );
    assert.deepEqual(await catalog.snapshots.list({ node: "other" }), []);
  });

  it("refuses a manifest whose entries do not match the record, and leaves no trace", async () => {
    const entries = sorted(t3);
    const bad = record("20240104T000000Z-cccc4444", entries, "2024-01-04T00:00:00.000Z");
    await assert.rejects(catalog.snapshots.record(bad, entries.slice(1)), /says 3001 entries but 3000 were given/);
    const dup = record("20240104T000000Z-cccc4444", [...entries, entries[0]!], "2024-01-04T00:00:00.000Z");
    await assert.rejects(catalog.snapshots.record(dup, [...entries, entries[0]!]), /lists a path twice/);
    assert.equal(await catalog.snapshots.get("20240104T000000Z-cccc4444"), null);
    assert.equal(await catalog.files.count(), 3013);
    const { rows } = await raw.query<{ last_seq: number }>("SELECT last_seq FROM sources");
    assert.deepEqual(rows, [{ last_seq: 3 }]);
  });

  it("deletes a snapshot with the index rows only it used", async () => {
    await catalog.snapshots.setProtected(ids[1]!, true);
    await assert.rejects(catalog.snapshots.delete(ids[1]!), /protected/);
    await catalog.snapshots.setProtected(ids[1]!, false);

    assert.notEqual(await catalog.snapshots.delete(ids[1]!), null);
    assert.equal(await catalog.snapshots.delete(ids[1]!), null);
    // Only the version of srv/d00/f000.txt that lived in snapshot 2 alone goes.
    assert.equal(await catalog.files.count(), 3012);
    assert.deepEqual((await catalog.files.inSnapshot(ids[0]!)).map((f) => f.path), sorted(t1).map((e) => e.path));
    assert.deepEqual((await catalog.files.inSnapshot(ids[2]!)).map((f) => f.path), sorted(t3).map((e) => e.path));

    // Deleting the newest one removes the rows it opened; the next recording still indexes exactly.
    assert.notEqual(await catalog.snapshots.delete(ids[2]!), null);
    const orphans = await raw.query(
      `SELECT 1 FROM file_versions fv WHERE NOT EXISTS (SELECT 1 FROM snapshots s
         WHERE s.source_id = fv.source_id AND s.seq >= fv.from_seq AND (fv.to_seq IS NULL OR s.seq < fv.to_seq))`,
    );
    assert.equal(orphans.rowCount, 0);
    assert.equal(await catalog.files.count(), 3000);
    const r4 = await catalog.snapshots.record(record("20240105T000000Z-dddd5555", sorted(t3), "2024-01-05T00:00:00.000Z"), sorted(t3));
    assert.equal(r4.snapshot.seq, 4, "sequence numbers are never reused");
    assert.deepEqual((await catalog.files.inSnapshot(r4.snapshot.id)).map((f) => f.path), sorted(t3).map((e) => e.path));
    assert.deepEqual((await catalog.files.inSnapshot(ids[0]!)).map((f) => f.path), sorted(t1).map((e) => e.path));
  });

  it("keeps jobs with progress, logs and results", async () => {
    const job = await catalog.jobs.create({ kind: "backup", node: NODE, source: SOURCE, requestedLevel: "incremental" });
    assert.equal(job.status, "queued");
    assert.equal(job.node, NODE);
    const running = await catalog.jobs.start(job.id, "full");
    assert.equal(running.status, "running");
    assert.ok(running.startedAt);
    const progressed = await catalog.jobs.updateProgress(job.id, { phase: "reading", progress: 0.5, filesDone: 10, bytesDone: 5_000_000_000 });
    assert.equal(progressed.bytesDone, 5_000_000_000);
    assert.equal(progressed.progress, 0.5);
    await catalog.jobs.appendLog(job.id, "info", ["started", "reading /var/www"]);
    await catalog.jobs.appendLog(job.id, "warn", "skipped srv/socket");
    const done = await catalog.jobs.finish(job.id, "warning", undefined, {
      snapshotId: "20240105T000000Z-dddd5555",
      warnings: ["skipped srv/socket"],
      bytesNew: 42,
    });
    assert.equal(done.status, "warning");
    assert.equal(done.level, "full");
    assert.equal(done.snapshotId, "20240105T000000Z-dddd5555");
    assert.deepEqual(done.warnings, ["skipped srv/socket"]);
    assert.equal(done.bytesNew, 42);
    assert.ok(done.finishedAt);
    const log = await catalog.jobs.log(job.id);
    assert.deepEqual(log.map((l) => [l.level, l.message]), [
      ["info", "started"],
      ["info", "reading /var/www"],
      ["warn", "skipped srv/socket"],
    ]);
    assert.deepEqual((await catalog.jobs.log(job.id, { afterId: log[1]!.id })).map((l) => l.message), ["skipped srv/socket"]);

    const gc = await catalog.jobs.create({ kind: "gc" });
    await catalog.jobs.finish(gc.id, "failed", "store is read-only");
    assert.deepEqual((await catalog.jobs.list({ status: ["failed"] })).map((j) => [j.id, j.error]), [[gc.id, "store is read-only"]]);
    assert.deepEqual((await catalog.jobs.list({ node: NODE })).map((j) => j.id), [job.id]);
    await assert.rejects(catalog.jobs.updateProgress(99999, { filesDone: 1 }), /job 99999 does not exist/);
    await assert.rejects(catalog.jobs.create({ kind: "backup", node: "ghost" }), /unknown node ghost/);
    // Deleting the snapshot a job made keeps the job and forgets the link.
    assert.notEqual(await catalog.snapshots.delete("20240105T000000Z-dddd5555"), null);
    assert.equal((await catalog.jobs.get(job.id))?.snapshotId, null);
  });

  it("keeps node and source settings", async () => {
    const n = await catalog.nodes.ensure(NODE, "10.0.0.5:7443");
    assert.equal(n.address, "10.0.0.5:7443");
    assert.equal((await catalog.nodes.ensure(NODE)).address, "10.0.0.5:7443", "ensureNode without address keeps it");
    const s = await catalog.sources.ensure(NODE, SOURCE, "fs", { path: "/var/www", excludes: ["*.log"] }, "lz4");
    assert.deepEqual(s.config, { path: "/var/www", excludes: ["*.log"] });
    assert.equal(s.codec, "lz4");
    await assert.rejects(catalog.sources.ensure(NODE, SOURCE, "mysql"), /of type fs in the catalog, not mysql/);
    assert.deepEqual((await catalog.sources.list(NODE)).map((x) => x.name), [SOURCE]);
  });

  it("keeps a GC tombstone while a backup that started before it is still alive, however long ago", async () => {
    const chunk = "ab".repeat(32);
    const left = async () => (await raw.query<{ n: number }>("SELECT count(*)::int AS n FROM gc_candidates WHERE chunk_id = decode($1, 'hex')", [chunk])).rows[0]!.n;
    const job = await catalog.jobs.create({ kind: "backup", node: NODE, source: SOURCE, requestedLevel: "full" });
    await catalog.jobs.start(job.id, "full");
    // The backup started 10 days ago and still makes progress; GC deleted the chunk 8 days ago.
    await raw.query("UPDATE jobs SET started_at = now() - interval '10 days', updated_at = now() WHERE id = $1", [job.id]);
    await raw.query("INSERT INTO gc_candidates (chunk_id, since, deleted_at) VALUES (decode($1, 'hex'), now() - interval '9 days', now() - interval '8 days')", [chunk]);
    await catalog.gc.markDeleted([]);
    assert.equal(await left(), 1, "the running backup may have reused the chunk: its seal must still see the tombstone");
    // A job that stopped reporting an hour ago is dead (its master was killed): it pins nothing.
    await raw.query("UPDATE jobs SET updated_at = now() - interval '2 hours' WHERE id = $1", [job.id]);
    await catalog.gc.markDeleted([]);
    assert.equal(await left(), 0, "a week-old tombstone goes once no live backup predates it");
    await catalog.jobs.finish(job.id, "failed", "test over");
  });

  it("records 100,000 entries in a few seconds", async () => {
    const big: Entry[] = [];
    for (let i = 0; i < 100_000; i++) {
      const p = `big/d${String(Math.floor(i / 1000)).padStart(3, "0")}/file-${String(i).padStart(6, "0")}`;
      big.push(fileEntry(p, `payload ${i}`));
    }
    big.sort((a, b) => (a.path < b.path ? -1 : 1));
    let t = performance.now();
    const first = await catalog.snapshots.record(record("big-1", big, "2024-02-01T00:00:00.000Z", "big"), big);
    const firstMs = performance.now() - t;
    assert.equal(first.rowsInserted, 100_000);

    // 1% changed: the common case for a nightly snapshot.
    const next = big.map((e, i) => (i % 100 === 0 ? fileEntry(e.path, `changed ${i}`) : e));
    t = performance.now();
    const second = await catalog.snapshots.record(record("big-2", next, "2024-02-02T00:00:00.000Z", "big"), next);
    const secondMs = performance.now() - t;
    assert.equal(second.rowsInserted, 1000);
    assert.equal(second.rowsClosed, 1000);
    assert.equal(await catalog.files.count({ node: NODE, source: "big" }), 101_000);

    t = performance.now();
    const listed = await catalog.files.inSnapshot("big-2");
    const listMs = performance.now() - t;
    assert.equal(listed.length, 100_000);
    console.log(
      `record 100k entries: first ${firstMs.toFixed(0)} ms, 1% changed ${secondMs.toFixed(0)} ms; list 100k ${listMs.toFixed(0)} ms`,
    );
    // Generous bound for a loaded CI machine; the measured times are printed above.
    assert.ok(firstMs < 20_000 && secondMs < 20_000, `recording 100k entries took ${firstMs} / ${secondMs} ms`);
  });
});
