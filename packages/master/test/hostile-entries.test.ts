/**
 * A node sends entries no file system produces. Each once sealed a snapshot the catalog could not
 * index, after which gc, prune --gc and catalog rebuild failed for every node. Now the master
 * refuses the entry at its door, naming the field and the (escaped) value; and a record that still
 * cannot be indexed (an older master's, a damaged one) is skipped and reported, its chunks kept.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chunkId, MAX_TIME_NS, MIN_TIME_NS, type Entry, type SnapshotRecord } from "@pullback/common";
import type { wire } from "@pullback/common/rpc/index";
import { Store } from "../src/store/store.js";
import { ManifestWriter } from "../src/store/manifest-io.js";
import type { Testbed } from "./support/testbed.js";
import { closeHostileTestbed, hostileTestbed, ref, type HostileAgent } from "./support/hostile-agent.js";

let tb: Testbed;
let evil: HostileAgent;

before(async () => {
  ({ tb, agent: evil } = await hostileTestbed());
});

after(() => closeHostileTestbed(tb, evil));

type WireEntry = Partial<wire.Entry> & { path: string };

/** Sends the root and then `bad` as the node's whole backup. */
async function backupWith(bad: WireEntry): Promise<{ code: number; stderr: string; stdout: string }> {
  evil.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    await b.entry(bad);
  });
  return tb.cliAwait(["backup", "evil", "home"]);
}

/** A path of `n` bytes in components of at most 250 that does not compress (the catalog index's worst case). */
function longPath(n: number): string {
  const letters = randomBytes(n).toString("base64url").replace(/[-_]/g, "x").slice(0, n).split("");
  for (let i = 250; i < n; i += 251) letters[i] = "/";
  return letters.join("");
}

function chunkPath(id: string): string {
  return join(tb.home, "store", "chunks", id.slice(0, 2), id.slice(2, 4), id);
}

const BAD: { name: string; entry: WireEntry; error: RegExp }[] = [
  { name: "mode 0xffffffff", entry: { path: "f", mode: 0xffffffff }, error: /entry "f" rejected: field mode = 4294967295 is not permission bits/ },
  { name: "type bits of another type", entry: { path: "f", mode: 0o040644 }, error: /field mode = 16804 is not permission bits/ },
  { name: "NUL in a symlink target", entry: { path: "l", type: "symlink", target: "/etc\0/passwd" }, error: /field target = "\/etc\\u0000\/passwd" contains a NUL byte/ },
  { name: "3 KiB path", entry: { path: longPath(3072) }, error: /an entry rejected: field path = "[A-Za-z0-9x/]+… \(3074 characters\) is 3072 bytes long; at most 2560/ },
  { name: "a 256-byte name", entry: { path: "a".repeat(256) }, error: /has a component longer than 255 bytes/ },
  { name: "NUL in a user name", entry: { path: "f", user: "root\0evil" }, error: /field user = "root\\u0000evil" contains a NUL byte/ },
  { name: "uid (uid_t)-1", entry: { path: "f", uid: 2 ** 32 - 1 }, error: /field uid = 4294967295 is not an integer in 0\.\.4294967294/ },
  { name: "mtime past 2261", entry: { path: "f", mtimeNs: String(MAX_TIME_NS + 1n) }, error: /field mtimeNs = "9214646400000000000" is outside the years 1678\.\.2261/ },
  { name: "ctime before 1678", entry: { path: "f", ctimeNs: String(MIN_TIME_NS - 1n) }, error: /field ctimeNs = "-9214560000000000001" is outside the years/ },
  { name: "rdev on a file", entry: { path: "f", rdev: 0x0801 }, error: /field rdev = 2049 is only for devices, not a file/ },
  { name: "a target on a directory", entry: { path: "d", type: "dir", target: "/etc" }, error: /field target = "\/etc" is only for symlinks and hardlinks, not a dir/ },
  { name: "a size on a directory", entry: { path: "d", type: "dir", size: 4096 }, error: /field size = 4096 must be 0 for a dir/ },
];

test("every entry no file system produces is refused at the door, naming the field and the escaped value", async () => {
  for (const c of BAD) {
    const r = await backupWith(c.entry);
    assert.equal(r.code, 1, `${c.name}: the backup must fail: ${r.stdout}`);
    const message = r.stderr.split("\n").find((l) => l.startsWith("pullback: ")) ?? "";
    assert.match(message, c.error, c.name);
  }
  assert.deepEqual(tb.json<unknown[]>(["snapshots", "evil"]), [], "no snapshot may be sealed from a refused entry");
  // Nothing was left behind that stops the master's housekeeping.
  for (const args of [["gc", "--grace", "0s"], ["prune", "--keep-last", "1", "--gc"], ["catalog", "rebuild"]]) {
    const r = await tb.cliAwait(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  }
});

test("the edges of every range are accepted and indexed by the catalog", async () => {
  const data = randomBytes(20_000);
  const deep = longPath(2560);
  const dirs = deep.split("/").slice(0, -1);
  evil.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    const id = await b.chunk(data);
    // st_mode with the file type bits, as stat(2) returns it: the bits match the type, so they are dropped.
    await b.entry({ path: "oldest", mode: 0o100644, uid: 2 ** 32 - 2, gid: 2 ** 32 - 2, mtimeNs: String(MIN_TIME_NS), atimeNs: "-315619200000000000", ctimeNs: String(MAX_TIME_NS), size: data.length, chunks: [ref(id, 0, data.length)] });
    await b.entry({ path: "dev", type: "chardev", mode: 0o020600, rdev: 0x0103 });
    await b.entry({ path: "link", type: "symlink", mode: 0o777, target: "t".repeat(4096) });
    for (let i = 1; i <= dirs.length; i++) await b.entry({ path: dirs.slice(0, i).join("/"), type: "dir", mode: 0o700 });
    await b.entry({ path: deep, size: 0 });
    await b.entry({ path: "n".repeat(255), user: "u".repeat(256), group: "g".repeat(256) });
  });
  const r = await tb.cliAwait(["backup", "evil", "home", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const { snapshot } = JSON.parse(r.stdout) as { snapshot: SnapshotRecord };
  const ls = tb.json<{ path: string; mode: number; mtime: string; uid: number }[]>(["ls", snapshot.id]);
  const oldest = ls.find((e) => e.path === "oldest")!;
  assert.equal(oldest.mode, 0o644);
  assert.equal(oldest.uid, 2 ** 32 - 2);
  assert.equal(oldest.mtime, "1678-01-01T00:00:00.000Z");
  assert.ok(ls.some((e) => e.path === deep), "the 2560-byte path is in the snapshot");
  assert.match(tb.ok(["versions", "evil", deep, "--source", "home"]), new RegExp(snapshot.id));
  assert.equal((await tb.cliAwait(["catalog", "rebuild"])).code, 0);
});

/** Writes a snapshot record straight into the store, as a master without the door's checks did. */
async function writeUnindexableRecord(store: Store, entries: Entry[], damage: (r: SnapshotRecord) => void = () => undefined): Promise<SnapshotRecord> {
  const manifest = new ManifestWriter(store.chunks, { name: "none" });
  for (const e of entries) await manifest.add(e);
  const m = await manifest.finish();
  await store.chunks.flush();
  const now = new Date().toISOString();
  const zero = { files: 0, dirs: 0, otherEntries: 0, bytesTotal: 0, bytesRead: 0, bytesNew: 0, bytesStored: 0, bytesSent: 0, chunksTotal: 0, chunksNew: 0, warnings: 0 };
  const record: SnapshotRecord = {
    format: "pullback-snapshot/1",
    id: randomBytes(8).toString("hex"),
    node: "evil",
    source: "home",
    sourceType: "fs",
    level: "full",
    requestedLevel: "full",
    baseId: null,
    startedAt: now,
    finishedAt: now,
    codec: "none",
    manifest: m,
    stats: zero,
    warnings: [],
  };
  damage(record);
  await store.snapshots.write(record);
  return record;
}

test("a store record the catalog cannot index is skipped and reported by gc, prune --gc and rebuild, and its chunks survive", async () => {
  // Shared content: the victim's file and the bad records reference the same chunks.
  const victim = tb.localSource("shared");
  const a = randomBytes(30_000);
  const b = randomBytes(30_000);
  writeFileSync(join(victim, "a"), a);
  writeFileSync(join(victim, "b"), b);
  tb.ok(["backup", "here", "shared"]);
  const [ida, idb] = [chunkId(a), chunkId(b)];

  const store = await Store.open(join(tb.home, "store"));
  const t = "1700000000000000000";
  const base = { mode: 0o644, uid: 0, gid: 0, mtimeNs: t, atimeNs: t, ctimeNs: t, size: 0, ino: 1, dev: 1 };
  const root: Entry = { ...base, path: ".", type: "dir", mode: 0o755 };
  // An older master let this through: the catalog's INTEGER mode column refuses it.
  const badMode = await writeUnindexableRecord(store, [root, { ...base, path: "a", type: "file", mode: 0xffffffff, size: a.length, chunks: [{ id: ida, off: 0, len: a.length }] }]);
  // Damaged: the manifest no longer matches its record, so it cannot be parsed for references.
  const damaged = await writeUnindexableRecord(store, [root, { ...base, path: "b", type: "file", size: b.length, chunks: [{ id: idb, off: 0, len: b.length }] }], (r) => {
    r.manifest.sha256 = "0".repeat(64);
  });
  const manifestChunks = [...badMode.manifest.chunks, ...damaged.manifest.chunks];

  // Forgetting the victim's snapshot makes a and b GC candidates; only the bad records still need them.
  const [victimSnap] = tb.json<{ id: string }[]>(["snapshots", "here", "shared"]);
  tb.ok(["forget", victimSnap!.id]);

  const gc = await tb.cliAwait(["gc", "--grace", "0s", "--full"]);
  assert.equal(gc.code, 0, gc.stderr);
  for (const r of [badMode, damaged]) assert.match(gc.stdout, new RegExp(`snapshot ${r.id} of evil/home .* cannot be indexed in the catalog: .*its chunks are kept`));
  const prune = await tb.cliAwait(["prune", "here", "--keep-last", "1", "--gc", "--json"]);
  assert.equal(prune.code, 0, prune.stderr);
  assert.equal((JSON.parse(prune.stdout) as { gc: { unindexable: string[] } }).gc.unindexable.length, 2);
  const rebuild = await tb.cliAwait(["catalog", "rebuild"]);
  assert.equal(rebuild.code, 3, `rebuild finishes with warnings: ${rebuild.stderr}`);
  assert.match(rebuild.stdout, /2 skipped:/);
  assert.match(rebuild.stdout, new RegExp(`snapshot ${badMode.id} .*out of range for type integer`));

  for (const id of [ida, idb, ...manifestChunks]) assert.ok(existsSync(chunkPath(id)), `chunk ${id} of an unindexable snapshot was deleted`);
});
