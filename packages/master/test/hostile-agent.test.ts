/**
 * The hostile-agent harness itself: a scripted node with a valid certificate produces a snapshot
 * through the real master exactly when it behaves, so the attack tests built on it prove what the
 * master refuses, not what the harness cannot do.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { SnapshotRecord } from "@pullback/common";
import type { Testbed } from "./support/testbed.js";
import { closeHostileTestbed, hostileTestbed, ref, type HostileAgent } from "./support/hostile-agent.js";

let tb: Testbed;
let agent: HostileAgent;

before(async () => {
  ({ tb, agent } = await hostileTestbed());
});

after(() => closeHostileTestbed(tb, agent));

test("a scripted node that behaves produces a snapshot that lists what it sent", async () => {
  const data = randomBytes(100_000);
  agent.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    const id = await b.chunk(data);
    await b.entry({ path: "file", size: data.length, chunks: [ref(id, 0, data.length)] });
  });
  const r = await tb.cliAwait(["backup", "evil", "home", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { snapshot: SnapshotRecord };
  assert.equal(out.snapshot.stats.files, 1);
  assert.equal(out.snapshot.stats.bytesTotal, data.length);
  assert.equal(agent.backups, 1);
  assert.match(tb.ok(["ls", out.snapshot.id]), /file/);
});
