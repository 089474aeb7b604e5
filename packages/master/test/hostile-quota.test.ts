/**
 * Per-node quotas, enforced while the master receives: a node over its quota is stopped within a
 * chunk of the limit, not after sending everything, and its earlier snapshots are untouched.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { SnapshotRecord } from "@pullback/common";
import type { JobRow, NodeRow } from "../src/catalog/index.js";
import type { GcResult } from "../src/gc/garbage-collector.js";
import type { Testbed } from "./support/testbed.js";
import { closeHostileTestbed, hostileTestbed, ref, type HostileAgent, type HostileBackup } from "./support/hostile-agent.js";
import { chunkFileBytes } from "./support/store-size.js";

const MiB = 1024 * 1024;

let tb: Testbed;
let agent: HostileAgent;

before(async () => {
  ({ tb, agent } = await hostileTestbed("greedy"));
});

after(() => closeHostileTestbed(tb, agent));

/** Sends the chunks then one file per chunk; counts the chunks the master took before it stopped. */
async function sendFiles(b: HostileBackup, chunks: Buffer[], sent: { chunks: number }): Promise<void> {
  await b.entry({ path: ".", type: "dir", mode: 0o755 });
  const ids: string[] = [];
  for (const c of chunks) {
    ids.push(await b.chunk(c));
    sent.chunks++;
  }
  for (let i = 0; i < ids.length; i++) await b.entry({ path: `f${i}`, size: chunks[i]!.length, chunks: [ref(ids[i]!, 0, chunks[i]!.length)] });
}

async function backup(): Promise<{ code: number; stderr: string; snapshot?: SnapshotRecord }> {
  const r = await tb.cliAwait(["backup", "greedy", "home", "--json"]);
  return { code: r.code, stderr: r.stderr, ...(r.code === 0 ? { snapshot: (JSON.parse(r.stdout) as { snapshot: SnapshotRecord }).snapshot } : {}) };
}

function node(): NodeRow {
  return tb.json<NodeRow[]>(["node", "list"]).find((n) => n.name === "greedy")!;
}

test("node set --quota: sizes, none, and a clear refusal of nonsense", () => {
  assert.equal(tb.json<NodeRow>(["node", "set", "greedy", "--quota", "10G"]).quotaBytes, 10 * 1024 ** 3);
  assert.equal(node().quotaBytes, 10 * 1024 ** 3);
  assert.match(tb.ok(["node", "list"]), /greedy .*10\.0 GiB/);
  assert.equal(tb.json<NodeRow>(["node", "set", "greedy", "--quota", "none"]).quotaBytes, null);
  const bad = tb.cli(["node", "set", "greedy", "--quota", "10X"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid quota "10X".*500M, 10G or 2T/);
  assert.match(tb.cli(["node", "set", "nobody", "--quota", "1G"]).stderr, /no node nobody/);
  assert.equal(node().quotaBytes, null, "a refused setting changes nothing");
});

test("a node sending 50 MiB against a 20 MiB quota is stopped near 20 MiB; raising the quota lets the next backup through", async (t) => {
  const small = randomBytes(MiB);
  agent.onBackup((b) => sendFiles(b, [small], { chunks: 0 }));
  const first = await backup();
  assert.equal(first.code, 0, first.stderr);
  const usedBefore = node().usedBytes;
  assert.equal(usedBefore, first.snapshot!.stats.bytesStored, "charged for what it stored: its chunk and manifest");

  tb.ok(["node", "set", "greedy", "--quota", "20M"]);
  const storeBefore = chunkFileBytes(tb.home);
  const chunks = Array.from({ length: 50 }, () => randomBytes(MiB));
  const sent = { chunks: 0 };
  agent.onBackup((b) => sendFiles(b, chunks, sent));
  const over = await backup();
  assert.notEqual(over.code, 0, "the backup over quota fails");
  assert.match(over.stderr, /node greedy is over its storage quota of 20\.0 MiB/);
  assert.match(over.stderr, /pullback node set greedy --quota SIZE/);
  assert.match(over.stderr, /pullback prune/);
  const stored = chunkFileBytes(tb.home) - storeBefore;
  assert.ok(stored <= 20 * MiB - usedBefore + MiB + 12, `stored at most one chunk past the quota: ${stored} bytes`);
  assert.ok(stored >= 17 * MiB, `stopped near the quota, not at the start: ${stored} bytes`);
  // The agent may have more in flight (the credit window) but not the whole 50 MiB.
  t.diagnostic(`over quota: ${stored} bytes stored, ${sent.chunks} of 50 chunks left the node`);
  assert.ok(sent.chunks < 40, `the master stopped receiving early: the node got ${sent.chunks} of 50 chunks out`);

  const job = tb.json<JobRow[]>(["jobs"])[0]!;
  assert.equal(job.status, "failed");
  assert.match(job.error ?? "", /over its storage quota/);
  const snaps = tb.json<{ id: string }[]>(["snapshots", "greedy"]);
  assert.deepEqual(snaps.map((s) => s.id), [first.snapshot!.id], "the earlier snapshot is the only one and untouched");
  assert.match(tb.ok(["verify", first.snapshot!.id]), /all intact/);
  assert.ok(node().usedBytes >= usedBefore + stored, "the failed session stays charged until gc");

  tb.ok(["node", "set", "greedy", "--quota", "100M"]);
  agent.onBackup((b) => sendFiles(b, chunks, { chunks: 0 }));
  const retry = await backup();
  assert.equal(retry.code, 0, retry.stderr);
  assert.ok(retry.snapshot!.stats.chunksNew <= 50 - 17, `what the stopped session stored is reused: ${retry.snapshot!.stats.chunksNew} new`);
  const retryManifest = retry.snapshot!.stats.bytesStored - retry.snapshot!.stats.chunksNew * (MiB + 12);
  assert.equal(chunkFileBytes(tb.home) - storeBefore, 50 * (MiB + 12) + retryManifest, "each of the 50 chunks is stored once");
  assert.equal(tb.json<GcResult>(["gc", "--grace", "0s"]).deleted, 0, "nothing of the retry's data is garbage");
  const usage = node().usedBytes;
  assert.equal(usage, chunkFileBytes(tb.home), "usage is exactly the node's stored chunk files (it is the only node)");

  const info = JSON.parse((await tb.cliAwait(["node", "info", "greedy", "--json"])).stdout) as { quotaBytes: number; usedBytes: number };
  assert.deepEqual([info.quotaBytes, info.usedBytes], [100 * MiB, usage]);
});

test("a flood of entries without data counts against the quota too: its manifest is stored bytes", async (t) => {
  const room = MiB;
  tb.ok(["node", "set", "greedy", "--quota", String(node().usedBytes + room)]);
  const storeBefore = chunkFileBytes(tb.home);
  const sent = { entries: 0 };
  agent.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    for (let i = 0; i < 40_000; i++) {
      await b.entry({ path: randomBytes(100).toString("hex"), size: 0 });
      sent.entries++;
    }
  });
  const flood = await backup();
  assert.notEqual(flood.code, 0, "40,000 entries of random 200-byte names do not fit in 1 MiB of quota");
  assert.match(flood.stderr, /over its storage quota/);
  const stored = chunkFileBytes(tb.home) - storeBefore;
  t.diagnostic(`entry flood: ${stored} bytes of manifest stored, ${sent.entries} entries left the node`);
  assert.ok(stored <= room + 256 * 1024 + 12, `at most one manifest chunk past the quota: ${stored} bytes`);
  assert.ok(stored > 0);
});

test("two backups of one node at once share its quota instead of each getting all of it", async (t) => {
  tb.ok(["source", "add", "greedy", "other", "--path", "/srv"]);
  const room = 40 * MiB;
  tb.ok(["node", "set", "greedy", "--quota", String(node().usedBytes + room)]);
  const storeBefore = chunkFileBytes(tb.home);
  // Both sessions start sending only once both are connected, 1 MiB every 50 ms, 35 MiB each: alone,
  // either would fit.
  let started = 0;
  let bothStarted!: () => void;
  const barrier = new Promise<void>((resolve) => (bothStarted = resolve));
  agent.onBackup(async (b) => {
    if (++started === 2) bothStarted();
    await Promise.race([barrier, new Promise((_, reject) => setTimeout(() => reject(new Error("the second backup never started")), 20_000))]);
    const chunks = Array.from({ length: 35 }, () => randomBytes(MiB));
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    for (const c of chunks) {
      await b.chunk(c);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  const runs = await Promise.all([tb.cliAwait(["backup", "greedy", "home"]), tb.cliAwait(["backup", "greedy", "other"])]);
  const stored = chunkFileBytes(tb.home) - storeBefore;
  t.diagnostic(`concurrent: exit codes ${runs.map((r) => r.code).join(", ")}, ${stored} bytes stored against ${room} of room`);
  assert.ok(runs.some((r) => r.code !== 0 && /over its storage quota/.test(r.stderr)), "at least one of them is stopped by the quota");
  // Each may overshoot by what it stores between two refreshes (100 ms, ~2 chunks here) plus one chunk.
  assert.ok(stored <= room + 8 * (MiB + 12), `together they stored ${stored} bytes, not up to 2 × 35 MiB`);
});
