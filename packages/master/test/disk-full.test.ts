/**
 * A full store disk, for real: the master's home is a small tmpfs. The backup that fills it fails
 * with a message that says so, records nothing and damages nothing; once there is space again, the
 * next run succeeds and reuses what the failed one had stored.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { SnapshotRecord } from "@pullback/common";
import { Testbed } from "./support/testbed.js";
import { requireTool, treeDifferences } from "./support/tools.js";
import { writeRandomFile } from "./support/tricky-tree.js";

let tb: Testbed;
let mounted = "";

function mount(args: string[]): void {
  const r = spawnSync("mount", args, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`this test mounts a small tmpfs as the store's disk, which needs root (as .ci/run runs): mount ${args.join(" ")}: ${r.stderr.trim()}`);
  }
}

before(async () => {
  requireTool("rsync", "rsync");
  tb = await Testbed.create({
    beforeInit: (home) => {
      mkdirSync(home);
      mount(["-t", "tmpfs", "-o", "size=48m,mode=0700", "pullback-test-store", home]);
      mounted = home;
    },
  });
});
after(async () => {
  if (mounted) spawnSync("umount", [mounted]);
  await tb?.destroy();
});

test("a backup that fills the store's disk fails saying so, records nothing, and the next run reuses what it stored", async () => {
  const data = tb.localSource("fill");
  writeFileSync(join(data, "small.bin"), randomBytes(4 * 1024 * 1024));
  const first = tb.json<{ snapshot: SnapshotRecord }>(["backup", "here", "fill"]).snapshot;
  const firstCopy = join(tb.dir, "expected-first");
  cpSync(data, firstCopy, { recursive: true, preserveTimestamps: true });

  // 80 MiB of incompressible data cannot fit in what is left of 48 MiB.
  writeRandomFile(join(data, "big.bin"), 80);
  const r = tb.cli(["backup", "here", "fill"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /the store's disk is full \(ENOSPC while writing [^)]+\); this backup stops and earlier snapshots are intact/);
  assert.deepEqual(
    tb.json<{ id: string }[]>(["snapshots", "here", "fill"]).map((s) => s.id),
    [first.id],
    "the failed backup must leave no snapshot",
  );
  const jobs = tb.json<{ status: string; error: string | null }[]>(["jobs", "--status", "failed"]);
  assert.match(jobs[0]?.error ?? "", /the store's disk is full/);

  // The earlier snapshot restores exactly, from the full disk.
  const target = join(tb.dir, "restore-first");
  tb.ok(["restore", first.id, "--target", target]);
  // (cpSync cannot keep the copied directory's own mtime: directory lines are not compared.)
  assert.equal(treeDifferences(firstCopy, target).split("\n").filter((l) => l && !l.startsWith(".d")).join("\n"), "");

  // The operator adds space: the next run succeeds and does not store again what the failed one did.
  mount(["-o", "remount,size=160m", mounted]);
  const next = tb.json<{ snapshot: SnapshotRecord }>(["backup", "here", "fill"]).snapshot;
  assert.ok(next.stats.bytesNew < 70 * 1024 * 1024, `the next run stored ${next.stats.bytesNew} new bytes: the failed run's chunks were not reused`);
  const target2 = join(tb.dir, "restore-next");
  tb.ok(["restore", next.id, "--target", target2]);
  assert.equal(treeDifferences(data, target2), "");
  tb.ok(["verify"]);
});
