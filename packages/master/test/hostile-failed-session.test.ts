/**
 * A node that sends a lot of new data and then a bad entry fails its backup, but must not keep the
 * space: the session's new chunks are queued for GC (and charged to the node until then). A retry
 * before GC reuses them instead of storing them twice.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { SnapshotRecord } from "@pullback/common";
import type { NodeRow } from "../src/catalog/index.js";
import type { GcResult } from "../src/gc/garbage-collector.js";
import type { Testbed } from "./support/testbed.js";
import { closeHostileTestbed, hostileTestbed, ref, type HostileAgent, type HostileBackup } from "./support/hostile-agent.js";
import { chunkFileBytes } from "./support/store-size.js";

const MiB = 1024 * 1024;
const CHUNKS = 64;

let tb: Testbed;
let agent: HostileAgent;

before(async () => {
  ({ tb, agent } = await hostileTestbed());
});

after(() => closeHostileTestbed(tb, agent));

function randomChunks(): Buffer[] {
  return Array.from({ length: CHUNKS }, () => randomBytes(MiB));
}

/** Sends every chunk, then one file per chunk under a root directory, then `last` if given. */
async function sendAll(b: HostileBackup, chunks: Buffer[], last?: string): Promise<void> {
  await b.entry({ path: ".", type: "dir", mode: 0o755 });
  const ids: string[] = [];
  for (const c of chunks) ids.push(await b.chunk(c));
  for (let i = 0; i < ids.length; i++) await b.entry({ path: `f${i}`, size: MiB, chunks: [ref(ids[i]!, 0, MiB)] });
  if (last) await b.entry({ path: last, size: 0 });
}

async function backup(): Promise<{ code: number; stderr: string; snapshot?: SnapshotRecord }> {
  const r = await tb.cliAwait(["backup", "evil", "home", "--json"]);
  return { code: r.code, stderr: r.stderr, ...(r.code === 0 ? { snapshot: (JSON.parse(r.stdout) as { snapshot: SnapshotRecord }).snapshot } : {}) };
}

function usedBytes(): number {
  return tb.json<NodeRow[]>(["node", "list"]).find((n) => n.name === "evil")!.usedBytes;
}

test("64 MiB of new chunks followed by a bad entry: the backup fails and gc takes the space back", async () => {
  const before = chunkFileBytes(tb.home);
  agent.onBackup((b) => sendAll(b, randomChunks(), "../outside"));
  const r = await backup();
  assert.notEqual(r.code, 0, "a path with .. must fail the backup");
  assert.match(r.stderr, /\.\.\/outside/);
  const left = chunkFileBytes(tb.home) - before;
  assert.ok(left >= CHUNKS * MiB, `the failed session's chunks stay until gc (kept for a retry): ${left} bytes`);
  assert.ok(usedBytes() >= CHUNKS * MiB, "the node is charged for them until gc, so failing does not escape a quota");

  const gc = tb.json<GcResult>(["gc", "--grace", "0s"]);
  assert.equal(gc.deleted, CHUNKS, JSON.stringify(gc));
  assert.ok(gc.bytesFreed >= CHUNKS * MiB && gc.bytesFreed === left, `gc reports what it freed: ${gc.bytesFreed} of ${left}`);
  assert.equal(chunkFileBytes(tb.home), before, "the chunks directory is back to its size before the failed backup");
  assert.equal(usedBytes(), 0, "deleted chunks no longer count against the node");
});

test("a retry before gc reuses the failed session's chunks instead of storing them twice", async () => {
  const chunks = randomChunks();
  agent.onBackup((b) => sendAll(b, chunks, "a/../../b"));
  assert.notEqual((await backup()).code, 0);
  const afterFailure = chunkFileBytes(tb.home);

  agent.onBackup((b) => sendAll(b, chunks));
  const retry = await backup();
  assert.equal(retry.code, 0, retry.stderr);
  assert.equal(retry.snapshot!.stats.chunksNew, 0, "every data chunk was already stored");
  const manifestBytes = chunkFileBytes(tb.home) - afterFailure;
  assert.ok(manifestBytes < 64 * 1024, `only the manifest is new: ${manifestBytes} bytes`);

  const gc = tb.json<GcResult>(["gc", "--grace", "0s"]);
  // Recording the retry's snapshot took its chunks off the queue: nothing is left to examine.
  assert.equal(gc.deleted, 0, JSON.stringify(gc));
  assert.equal(chunkFileBytes(tb.home), afterFailure + manifestBytes);
  assert.match(tb.ok(["verify", retry.snapshot!.id]), /all intact/);
  assert.ok(usedBytes() >= CHUNKS * MiB, "the node stays charged for the chunks its snapshot keeps");
});

test("chunks a node sends with a successful backup but no file uses are collected too", async () => {
  const before = chunkFileBytes(tb.home);
  const used = randomBytes(MiB);
  agent.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    for (let i = 0; i < 32; i++) await b.chunk(randomBytes(MiB));
    const id = await b.chunk(used);
    await b.entry({ path: "kept", size: MiB, chunks: [ref(id, 0, MiB)] });
  });
  const r = await backup();
  assert.equal(r.code, 0, r.stderr);
  const gc = tb.json<GcResult>(["gc", "--grace", "0s"]);
  assert.equal(gc.deleted, 32, JSON.stringify(gc));
  assert.equal(chunkFileBytes(tb.home) - before, MiB + 12 + (r.snapshot!.stats.bytesStored - 33 * (MiB + 12)), "only the used chunk and the manifest stay");
  assert.match(tb.ok(["verify", r.snapshot!.id]), /all intact/);
  const db = new pg.Client({ connectionString: tb.db.url });
  await db.connect();
  try {
    const log = await db.query<{ message: string }>("SELECT message FROM job_logs WHERE level = 'warn' ORDER BY id DESC LIMIT 1");
    assert.match(log.rows[0]?.message ?? "", /the node sent 32 chunk\(s\) that no file uses/, "the operator is told");
  } finally {
    await db.end();
  }
});
