/**
 * A node that knows the SHA-256 of another node's file names that chunk without sending it. The
 * master must not seal a snapshot that would restore the file to the attacker, and its answer must
 * not tell a foreign chunk from a random id (or it answers "does this content exist?").
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { chunkId, type SnapshotRecord } from "@pullback/common";
import { Testbed } from "./support/testbed.js";
import { ref, startHostileAgent, type HostileAgent } from "./support/hostile-agent.js";

let tb: Testbed;
let evil: HostileAgent;
const secret = Buffer.from(`root:${randomBytes(16).toString("hex")}:19000:0:99999:7:::\n`);

before(async () => {
  tb = await Testbed.create();
  // The victim: another node's backup holding a small file whose hash the attacker knows.
  writeFileSync(join(tb.localSource("victim"), "shadow"), secret);
  tb.ok(["backup", "here", "victim"]);
  evil = await startHostileAgent(tb, "evil");
  tb.ok(["source", "add", "evil", "home", "--path", "/home"]);
});

after(async () => {
  await evil?.close();
  await tb?.destroy();
});

/** Plays the attack: a file made of chunk `id`, which the node never sends. */
async function claimChunk(id: string, len: number): Promise<{ code: number; stderr: string; stdout: string }> {
  evil.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    await b.entry({ path: "stolen", size: len, chunks: [ref(id, 0, len)] });
  });
  return tb.cliAwait(["backup", "evil", "home"]);
}

function evilSnapshots(): unknown[] {
  return tb.json<unknown[]>(["snapshots", "evil", "home"]);
}

test("naming another node's chunk by hash gets no snapshot, and the same answer as a random id", async () => {
  const foreign = chunkId(secret);
  const random = randomBytes(32).toString("hex");
  const a = await claimChunk(foreign, secret.length);
  const b = await claimChunk(random, secret.length);
  assert.notEqual(a.code, 0, `the master sealed a snapshot from a chunk the node never sent: ${a.stdout}`);
  assert.deepEqual(evilSnapshots(), [], "no snapshot of evil/home may exist");
  assert.match(a.stderr, /did not send in this backup.*must upload it/);
  // Byte for byte the same once the id (and the log line's clock, pid and job number) is blanked
  // out: existence is not answered.
  const blank = (s: string, id: string) => s.replaceAll(id, "<chunk>").replace(/"(time|pid|job)":\d+/g, '"$1":N');
  assert.equal(a.code, b.code);
  assert.equal(blank(a.stderr, foreign), blank(b.stderr, random));
  assert.equal(blank(a.stdout, foreign), blank(b.stdout, random));
});

test("the index the master sends a node never names another node's chunks", async () => {
  let index: Set<string> | undefined;
  const own = randomBytes(50_000);
  evil.onBackup(async (b) => {
    index = new Set(b.index.knownChunks);
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    const id = await b.chunk(own);
    await b.entry({ path: "own", size: own.length, chunks: [ref(id, 0, own.length)] });
  });
  const first = await tb.cliAwait(["backup", "evil", "home"]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual([...index!], [], "a node's first backup must start with an empty index");
  evil.onBackup(async (b) => {
    index = new Set(b.index.knownChunks);
    // An unchanged claim takes chunks only from this source's own base, never from the victim's.
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    await b.entry({ path: "shadow", size: secret.length, unchanged: true });
  });
  const second = await tb.cliAwait(["backup", "evil", "home"]);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, /shadow claims to be unchanged but the base snapshot has no such file/);
  assert.deepEqual([...index!], [chunkId(own)], "the index holds this source's chunks and nothing else");
});

test("sending the bytes is what proves a node holds them: storage stays deduplicated", async () => {
  evil.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    const id = await b.chunk(secret);
    await b.entry({ path: "copy-of-shadow", size: secret.length, chunks: [ref(id, 0, secret.length)] });
  });
  const r = await tb.cliAwait(["backup", "evil", "home", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const { snapshot } = JSON.parse(r.stdout) as { snapshot: SnapshotRecord };
  assert.equal(snapshot.stats.bytesSent, secret.length, "the chunk was uploaded");
  assert.equal(snapshot.stats.chunksNew, 0, "and found already stored: nothing new on disk");
});
