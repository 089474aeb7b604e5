/**
 * A node sends its entries many to a message (EntryBatch). A batch is framing only: every entry in
 * it meets the same checks, in the same order, as one sent alone, so one bad entry among good ones
 * fails the backup with the very message it fails with alone; and a batch over the master's limit of
 * entries per message is refused, naming the count.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MAX_ENTRIES_PER_MESSAGE, type wire } from "@pullback/common/rpc/index";
import type { Testbed } from "./support/testbed.js";
import { closeHostileTestbed, hostileTestbed, ref, type HostileAgent } from "./support/hostile-agent.js";

let tb: Testbed;
let evil: HostileAgent;

before(async () => {
  ({ tb, agent: evil } = await hostileTestbed());
});

after(() => closeHostileTestbed(tb, evil));

type WireEntry = Partial<wire.Entry> & { path: string };

const ROOT: WireEntry = { path: ".", type: "dir", mode: 0o755 };

/** The master's one-line error for a failed backup, and its exit code. */
async function backupFails(): Promise<{ code: number; message: string }> {
  const r = await tb.cliAwait(["backup", "evil", "home"]);
  return { code: r.code, message: r.stderr.split("\n").find((l) => l.startsWith("pullback: ")) ?? r.stderr };
}

const BAD: { name: string; good: WireEntry[]; bad: WireEntry; error: RegExp }[] = [
  { name: "mode with foreign type bits", good: [ROOT, { path: "a" }], bad: { path: "b", mode: 0o040644 }, error: /entry "b" rejected: field mode = 16804 is not permission bits/ },
  { name: "an entry sent twice", good: [ROOT, { path: "a" }], bad: { path: "a" }, error: /entry a sent twice/ },
  { name: "a hardlink to no earlier file", good: [ROOT, { path: "a" }], bad: { path: "b", type: "hardlink", target: "c" }, error: /hardlink b points at c, which is not an earlier file/ },
  { name: "a path under no directory sent", good: [ROOT, { path: "a" }], bad: { path: "nodir/f" }, error: /entry nodir\/f arrived before its directory nodir/ },
  { name: "a reference to a chunk never sent", good: [ROOT, { path: "a" }], bad: { path: "b", size: 10, chunks: [ref("ab".repeat(32), 0, 10)] }, error: /entry b references chunk (ab)+, which the agent did not send/ },
];

test("one bad entry among good ones in a batch fails the backup exactly as it fails alone", async () => {
  for (const c of BAD) {
    evil.onBackup(async (b) => {
      for (const e of c.good) await b.entry(e);
      await b.entry(c.bad);
    });
    const alone = await backupFails();
    assert.equal(alone.code, 1, `${c.name}, sent alone: the backup must fail`);
    assert.match(alone.message, c.error, c.name);

    // The same entries, the bad one in the middle of a batch between good ones.
    evil.onBackup(async (b) => {
      await b.entries([...c.good, c.bad, { path: "z1" }, { path: "z2" }]);
    });
    const batched = await backupFails();
    assert.equal(batched.code, 1, `${c.name}, in a batch: the backup must fail`);
    assert.equal(batched.message, alone.message, `${c.name}: a batch must fail with the same message as the entry alone`);
  }
  assert.deepEqual(tb.json<unknown[]>(["snapshots", "evil"]), [], "no snapshot may be sealed from a refused entry");
});

test("a batch of more entries than the limit is refused, naming the count and the limit", async () => {
  const n = MAX_ENTRIES_PER_MESSAGE + 1;
  evil.onBackup(async (b) => {
    const files: WireEntry[] = Array.from({ length: n - 1 }, (_, i) => ({ path: `f${String(i).padStart(6, "0")}` }));
    await b.entries([ROOT, ...files]);
  });
  const r = await backupFails();
  assert.equal(r.code, 1);
  assert.match(r.message, new RegExp(`sent ${n} entries in one message; at most ${MAX_ENTRIES_PER_MESSAGE} are accepted`));
  assert.deepEqual(tb.json<unknown[]>(["snapshots", "evil"]), []);
});

test("batches, single entries and chunks interleaved seal the same snapshot as entries sent one by one", async () => {
  const data = randomBytes(5000);
  evil.onBackup(async (b) => {
    await b.entries([ROOT, { path: "a", type: "dir", mode: 0o700 }]);
    const id = await b.chunk(data);
    await b.entry({ path: "a/f", size: data.length, chunks: [ref(id, 0, data.length)] });
    // A batch at the limit is accepted.
    await b.entries(Array.from({ length: MAX_ENTRIES_PER_MESSAGE }, (_, i) => ({ path: `b${String(i).padStart(6, "0")}` })));
    await b.entries([]);
  });
  const r = await tb.cliAwait(["backup", "evil", "home", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const { snapshot } = JSON.parse(r.stdout) as { snapshot: { id: string } };
  const ls = tb.json<{ path: string; size: number }[]>(["ls", snapshot.id]);
  assert.equal(ls.length, 3 + MAX_ENTRIES_PER_MESSAGE);
  assert.equal(ls.find((e) => e.path === "a/f")?.size, data.length);
});
