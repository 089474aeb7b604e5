/**
 * The pull, end to end with real processes: the `pullback` CLI, agent daemons started from their
 * enrollment bundles, mTLS gRPC on loopback, a real catalog database, real files.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, openSync, closeSync, readFileSync, writeSync, writeFileSync, statSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import type { SnapshotRecord } from "@pullback/common";
import { makeTrickyTree, writeRandomFile } from "./support/tricky-tree.js";
import { allocatedKiB, requireTool, treeDifferences } from "./support/tools.js";
import { Testbed } from "./support/testbed.js";

interface BackupOutput {
  job: number;
  status: string;
  snapshot: SnapshotRecord;
}
interface SnapshotRow {
  id: string;
  level: string;
  requestedLevel: string;
  baseId: string | null;
  status: string;
}

let tb: Testbed;
let data: string;
let restores: string;

before(async () => {
  requireTool("rsync", "rsync");
  requireTool("tar", "tar");
  tb = await Testbed.create();
  data = join(tb.dir, "data");
  restores = join(tb.dir, "restores");
  mkdirSync(restores);
  makeTrickyTree(join(data, "tricky"), { largeMiB: 200, sparseMiB: 1024 });
  mkdirSync(join(data, "levels"));
  for (let i = 0; i < 20; i++) writeFileSync(join(data, "levels", `f${i}.txt`), `file ${i}\n`.repeat(1000 + i));
  writeRandomFile(join(data, "levels", "big.bin"), 16);
  await tb.addAgent("web1", [data], [restores]);
  tb.ok(["source", "add", "web1", "tricky", "--path", join(data, "tricky")]);
  tb.ok(["source", "add", "web1", "levels", "--path", join(data, "levels")]);
});

after(async () => {
  await tb?.destroy();
});

test("the tricky tree is pulled over mTLS and restored through the agent, identical by rsync and du", () => {
  const b = tb.json<BackupOutput>(["backup", "web1", "tricky", "--level", "full"]);
  assert.equal(b.status, "succeeded");
  assert.equal(b.snapshot.level, "full");
  assert.ok(b.snapshot.stats.bytesSent > 200 * 1024 * 1024 && b.snapshot.stats.bytesSent < 260 * 1024 * 1024, `sent ${b.snapshot.stats.bytesSent}`);
  const target = join(restores, "tricky");
  const r = tb.json<{ errors: string[]; entries: number }>(["restore", b.snapshot.id, "--node", "web1", "--target", target]);
  assert.deepEqual(r.errors, []);
  assert.equal(treeDifferences(join(data, "tricky"), target), "");
  assert.ok(allocatedKiB(join(target, "disk.img")) <= allocatedKiB(join(data, "tricky/disk.img")) + 1024);
  // The store and the catalog agree on the snapshot.
  const rows = tb.json<SnapshotRow[]>(["snapshots", "web1", "tricky"]);
  assert.deepEqual(rows.map((x) => x.id), [b.snapshot.id]);
});

test("levels: incremental reads only changed files, differential reads what changed since the full", () => {
  const dir = join(data, "levels");
  const full = tb.json<BackupOutput>(["backup", "web1", "levels", "--level", "full"]).snapshot;
  assert.equal(full.level, "full");
  assert.ok(full.stats.bytesRead >= 16 * 1024 * 1024);

  appendFileSync(join(dir, "f3.txt"), "changed once\n");
  writeFileSync(join(dir, "new.txt"), "a new file\n");
  const inc = tb.json<BackupOutput>(["backup", "web1", "levels", "--level", "incremental"]).snapshot;
  assert.equal(inc.level, "incremental");
  assert.equal(inc.baseId, full.id);
  const changed1 = statSync(join(dir, "f3.txt")).size + statSync(join(dir, "new.txt")).size;
  assert.equal(inc.stats.bytesRead, changed1, "an incremental must read exactly the changed and new files");

  appendFileSync(join(dir, "f7.txt"), "changed after the incremental\n");
  const diff = tb.json<BackupOutput>(["backup", "web1", "levels", "--level", "differential"]).snapshot;
  assert.equal(diff.level, "differential");
  assert.equal(diff.baseId, full.id, "a differential compares against the last full");
  assert.equal(diff.stats.bytesRead, changed1 + statSync(join(dir, "f7.txt")).size);

  // Every snapshot restores alone and completely.
  const target = join(restores, "levels-diff");
  tb.ok(["restore", diff.id, "--node", "web1", "--target", target]);
  assert.equal(treeDifferences(dir, target), "");
  const rows = tb.json<SnapshotRow[]>(["snapshots", "web1", "levels"]);
  assert.deepEqual(rows.map((r) => r.level).sort(), ["differential", "full", "incremental"]);
});

test("a differential with no earlier full runs as a full and says so", () => {
  mkdirSync(join(data, "fresh"));
  writeFileSync(join(data, "fresh", "a"), "a\n");
  tb.ok(["source", "add", "web1", "fresh", "--path", join(data, "fresh")]);
  const r = tb.cli(["backup", "web1", "fresh", "--level", "differential"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no earlier full snapshot of web1\/fresh: running a full backup instead of differential/);
  assert.match(r.stdout, /: full \(asked: differential\)/);
});

test("the agent refuses paths outside its allowlists, and nothing is recorded", () => {
  tb.ok(["source", "add", "web1", "outside", "--path", "/etc"]);
  const r = tb.cli(["backup", "web1", "outside", "--level", "full"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /backup of \/etc is not allowed on this node; the agent config's backup\.allow lists/);
  assert.deepEqual(tb.json<SnapshotRow[]>(["snapshots", "web1", "outside"]), []);

  const snap = tb.json<SnapshotRow[]>(["snapshots", "web1", "levels"])[0]!;
  const rr = tb.cli(["restore", snap.id, "--node", "web1", "--target", join(tb.dir, "not-allowed")]);
  assert.equal(rr.code, 1);
  assert.match(rr.stderr, /restore of .*not-allowed is not allowed on this node/);
  assert.throws(() => readdirSync(join(tb.dir, "not-allowed")));
});

test("unreadable entries make the job 'completed with warnings' (exit 3), not a failure", async () => {
  const dir = join(data, "warn");
  mkdirSync(dir);
  writeFileSync(join(dir, "fine.txt"), "fine\n");
  const sock = createServer().listen(join(dir, "a.sock"));
  try {
    tb.ok(["source", "add", "web1", "warn", "--path", dir]);
    const r = tb.cli(["backup", "web1", "warn", "--level", "full", "--json"]);
    assert.equal(r.code, 3, r.stderr);
    const out = JSON.parse(r.stdout) as BackupOutput;
    assert.equal(out.status, "warning");
    assert.match(out.snapshot.warnings.join("\n"), /a\.sock: socket skipped/);
    assert.equal(out.snapshot.stats.files, 1);
  } finally {
    sock.close();
  }
});

test("killing the agent mid-backup leaves no snapshot; the next run succeeds and reuses what was stored", async () => {
  const dir = join(data, "killme");
  mkdirSync(dir);
  for (let i = 0; i < 6; i++) writeRandomFile(join(dir, `r${i}.bin`), 48);
  tb.ok(["source", "add", "web1", "killme", "--path", dir]);
  const before = tb.json<SnapshotRow[]>(["snapshots"]).length;

  const child = tb.cliAsync(["backup", "web1", "killme", "--level", "full"]);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const chunksDir = join(tb.home, "store", "chunks");
  const countChunks = () => readdirSync(chunksDir, { recursive: true }).filter((f) => String(f).length > 64).length;
  const startCount = countChunks();
  for (let i = 0; i < 300 && countChunks() < startCount + 60; i++) await new Promise((r) => setTimeout(r, 50));
  await tb.stopAgent("web1", "SIGKILL");
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  assert.equal(code, 1, `the master must fail the job: ${stderr}`);
  assert.match(stderr, /agent web1/);
  assert.equal(tb.json<SnapshotRow[]>(["snapshots"]).length, before, "a killed backup must not leave a snapshot");

  await tb.startAgent("web1");
  const next = tb.json<BackupOutput>(["backup", "web1", "killme", "--level", "full"]).snapshot;
  const total = 6 * 48 * 1024 * 1024;
  assert.ok(next.stats.bytesNew < total - 40 * 1024 * 1024, `new ${next.stats.bytesNew} of ${total}: stored chunks were not reused`);
  const target = join(restores, "killme");
  tb.ok(["restore", next.id, "--node", "web1", "--target", target]);
  assert.equal(treeDifferences(dir, target), "");
});

test("killing the master mid-backup leaves no snapshot; the agent keeps serving and the next run succeeds", async () => {
  const dir = join(data, "killmaster");
  mkdirSync(dir);
  for (let i = 0; i < 4; i++) writeRandomFile(join(dir, `m${i}.bin`), 48);
  tb.ok(["source", "add", "web1", "killmaster", "--path", dir]);
  const child = tb.cliAsync(["backup", "web1", "killmaster", "--level", "full"]);
  const chunksDir = join(tb.home, "store", "chunks");
  const countChunks = () => readdirSync(chunksDir, { recursive: true }).filter((f) => String(f).length > 64).length;
  const startCount = countChunks();
  for (let i = 0; i < 300 && countChunks() < startCount + 40; i++) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  assert.deepEqual(tb.json<SnapshotRow[]>(["snapshots", "web1", "killmaster"]), []);
  const next = tb.json<BackupOutput>(["backup", "web1", "killmaster", "--level", "full"]).snapshot;
  assert.ok(next.stats.bytesNew < 4 * 48 * 1024 * 1024 - 30 * 1024 * 1024, `new ${next.stats.bytesNew}: the killed run's chunks were not reused`);
  const target = join(restores, "killmaster");
  tb.ok(["restore", next.id, "--node", "web1", "--target", target]);
  assert.equal(treeDifferences(dir, target), "");
});

test("a chunk damaged in the store fails only its file on a remote restore, naming file and chunk", () => {
  const snap = tb.json<SnapshotRow[]>(["snapshots", "web1", "levels"])[0]!;
  assert.ok(tb.json<{ path: string }[]>(["ls", snap.id]).some((e) => e.path === "f5.txt"));
  const record = tb.json<BackupOutput>(["backup", "web1", "levels", "--level", "incremental"]).snapshot;
  // f5.txt is smaller than the minimum chunk, so its only chunk is named by the SHA-256 of the file.
  const id = createHash("sha256").update(readFileSync(join(data, "levels", "f5.txt"))).digest("hex");
  const file = join(tb.home, "store", "chunks", id.slice(0, 2), id.slice(2, 4), id);
  const fd = openSync(file, "r+");
  writeSync(fd, randomBytes(16), 0, 16, 20);
  closeSync(fd);
  const target = join(restores, "damaged");
  const r = tb.cli(["restore", record.id, "--node", "web1", "--target", target, "--json"]);
  assert.equal(r.code, 3, r.stderr);
  const out = JSON.parse(r.stdout) as { errors: string[] };
  assert.equal(out.errors.length, 1, out.errors.join("\n"));
  assert.match(out.errors[0]!, new RegExp(`^f5\\.txt: .*chunk ${id}`));
  assert.equal(readdirSync(target).length, readdirSync(join(data, "levels")).length);
});
