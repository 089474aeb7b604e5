/**
 * Crash safety of reclaiming space with a real SIGKILL: the master is killed in the middle of a
 * prune and in the middle of a GC, at a moment chosen by watching its progress in the store and the
 * catalog. The next runs finish the work, and every surviving snapshot restores exactly.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import type { SnapshotRecord } from "@pullback/common";
import pg from "pg";
import { Testbed } from "./support/testbed.js";
import { requireTool, treeDifferences } from "./support/tools.js";

const ROUNDS = 8;
const KEEP = 2;
/** Small files, one chunk each: enough chunks that a GC takes several batches of 2,000. */
const FILES_PER_ROUND = 2500;

let tb: Testbed;
let data: string;
let db: pg.Client;
const expected = new Map<string, string>();

async function killWhen(p: ChildProcess, ready: () => Promise<boolean>): Promise<void> {
  const exited = new Promise<void>((r) => p.once("exit", () => r()));
  for (;;) {
    if (p.exitCode !== null) break;
    if (await ready()) {
      p.kill("SIGKILL");
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await exited;
  assert.equal(p.signalCode, "SIGKILL", "the process finished before the kill: the test must kill it mid-work");
}

async function count(sql: string): Promise<number> {
  return (await db.query<{ n: number }>(sql)).rows[0]!.n;
}

before(async () => {
  requireTool("rsync", "rsync");
  tb = await Testbed.create();
  data = tb.localSource("k");
  writeFileSync(join(data, "shared.bin"), randomBytes(2_000_000));
  for (let round = 0; round < ROUNDS; round++) {
    // Each snapshot's own files: forgetting it leaves FILES_PER_ROUND chunks without a reference.
    rmSync(join(data, `round-${round - 1}`), { recursive: true, force: true });
    const dir = join(data, `round-${round}`);
    mkdirSync(dir);
    for (let i = 0; i < FILES_PER_ROUND; i++) writeFileSync(join(dir, `f${i}`), randomBytes(2048));
    const snap = tb.json<{ snapshot: SnapshotRecord }>(["backup", "here", "k", "--level", "full"]).snapshot;
    const copy = join(tb.dir, `expected-${snap.id}`);
    cpSync(data, copy, { recursive: true, preserveTimestamps: true });
    expected.set(snap.id, copy);
  }
  db = new pg.Client({ connectionString: tb.db.url });
  await db.connect();
});
after(async () => {
  await db?.end();
  await tb?.destroy();
});

test("a prune killed mid-way is finished by the next prune, and counts no forgotten snapshot as kept", async () => {
  const records = join(tb.home, "store", "snapshots", "here", "k");
  const prune = tb.cliAsync(["prune", "here", "k", "--keep-last", String(KEEP)]);
  // Forget removes the store's record first: kill as soon as one is gone, before the rest.
  await killWhen(prune, async () => readdirSync(records).length < ROUNDS);
  const left = readdirSync(records).length;
  assert.ok(left > KEEP && left < ROUNDS, `killed mid-prune (${left} records left)`);

  // A dry run reports the repair and changes nothing.
  const rows = () => count("SELECT count(*)::int AS n FROM snapshots");
  const queue = () => count("SELECT count(*)::int AS n FROM gc_candidates");
  const [rowsBefore, queueBefore] = [await rows(), await queue()];
  const dry = tb.json<{ reconciled: number }>(["gc", "--dry-run", "--full", "--grace", "0s"]);
  assert.equal(dry.reconciled, rowsBefore - left);
  assert.deepEqual([await rows(), await queue()], [rowsBefore, queueBefore]);

  const again = tb.json<{ lines: { action: string }[] }>(["prune", "here", "k", "--keep-last", String(KEEP)]);
  assert.equal(again.lines.filter((l) => l.action === "keep").length, KEEP, "a half-forgotten snapshot must not take a keep slot");
  assert.equal(readdirSync(records).length, KEEP);
  assert.equal(tb.json<unknown[]>(["snapshots", "here", "k"]).length, KEEP);
});

test("a GC killed mid-way loses nothing; the next GC finishes, and the survivors restore exactly", async () => {
  const queued = await count("SELECT count(*)::int AS n FROM gc_candidates WHERE deleted_at IS NULL");
  assert.ok(queued >= (ROUNDS - KEEP) * FILES_PER_ROUND, `the forgotten snapshots queued their chunks (${queued})`);
  const gc = tb.cliAsync(["gc", "--grace", "0s"]);
  // Once the first batch is committed, the next one is being unlinked: kill there.
  await killWhen(gc, async () => (await count("SELECT count(*)::int AS n FROM gc_candidates WHERE deleted_at IS NOT NULL")) > 0);
  const done = await count("SELECT count(*)::int AS n FROM gc_candidates WHERE deleted_at IS NOT NULL");
  assert.ok(done > 0 && done < queued, `killed mid-GC (${done} of ${queued} collected)`);

  const r = tb.json<{ deleted: number }>(["gc", "--grace", "0s"]);
  assert.ok(r.deleted > 0);
  assert.equal(await count("SELECT count(*)::int AS n FROM gc_candidates WHERE deleted_at IS NULL"), 0);
  // Nothing leaked either: a full mark-and-sweep finds no unreferenced chunk left behind.
  const sweep = tb.json<{ sweep: { queued: number } }>(["gc", "--full", "--grace", "0s"]);
  assert.equal(sweep.sweep.queued, 0);

  const survivors = tb.json<{ id: string }[]>(["snapshots", "here", "k"]);
  assert.equal(survivors.length, KEEP);
  for (const s of survivors) {
    const target = join(tb.dir, `restore-${s.id}`);
    tb.ok(["restore", s.id, "--target", target]);
    assert.equal(treeDifferences(expected.get(s.id)!, target).split("\n").filter((l) => l && !l.startsWith(".d")).join("\n"), "");
  }
});
