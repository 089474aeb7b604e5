/**
 * An agent that dies in the middle of a restore (killed, crashed, or a node pulling the plug on
 * purpose) must cost the master one failed restore with a reason, not the whole process: the reads
 * still in flight when the connection drops fail, and nothing may leave their failure unhandled.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeRandomFile } from "./support/tricky-tree.js";
import { Testbed } from "./support/testbed.js";

let tb: Testbed;
let restores: string;
let snapshotId: string;

/** Bytes allocated under `dir` (not sizes: the writer may size a file before filling it). */
function bytesUnder(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir, { recursive: true })) {
    try {
      const st = statSync(join(dir, String(name)));
      if (st.isFile()) n += st.blocks * 512;
    } catch {
      // renamed or removed while we looked
    }
  }
  return n;
}

before(async () => {
  tb = await Testbed.create();
  const data = join(tb.dir, "data");
  restores = join(tb.dir, "restores");
  mkdirSync(data);
  mkdirSync(restores);
  // Many files: between them the master reads the manifest and sends entries, so reads of chunks
  // are still in flight while it waits on something else when the connection drops.
  for (let i = 0; i < 64; i++) writeRandomFile(join(data, `f${String(i).padStart(2, "0")}.bin`), 4);
  await tb.addAgent("web1", [data], [restores]);
  tb.ok(["source", "add", "web1", "files", "--path", data]);
  snapshotId = tb.json<{ snapshot: { id: string } }>(["backup", "web1", "files", "--level", "full"]).snapshot.id;
});

after(async () => {
  await tb?.destroy();
});

test("an agent killed mid-restore: the master reports the failure and exits cleanly, it does not crash", async () => {
  const target = join(restores, "cut");
  const p = tb.cliAsync(["restore", snapshotId, "--node", "web1", "--target", target]);
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => p.on("close", r));

  // Kill the agent once it is well into writing the file: chunks are then in flight both ways.
  const deadline = Date.now() + 60_000;
  for (;;) {
    let written = 0;
    try {
      written = bytesUnder(target);
    } catch {
      // the target does not exist yet
    }
    if (written > 0) break;
    assert.ok(p.exitCode === null, `the restore ended before the agent was killed: ${stderr}${stdout}`);
    assert.ok(Date.now() < deadline, "the restore never got going");
    await sleep(10);
  }
  await tb.stopAgent("web1", "SIGKILL");
  const code = await exited;

  assert.equal(code, 1, `exit code ${code}: ${stderr}`);
  assert.match(stderr, /^pullback: .*agent web1/m, stderr);
  assert.doesNotMatch(stderr, /unhandled|triggerUncaughtException|^\s+at /im, `the master crashed instead of reporting: ${stderr}`);
});
