/**
 * `serve` keeps a policy's retention on its own: after each successful scheduled backup the source's
 * policy forgets what no rule keeps (and says so in the job's log), and garbage collection on the
 * scheduler's interval frees what that left unreferenced. Tried as a new user would, a policy with
 * --keep-last under `serve` used to keep every snapshot forever.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chunkId } from "@pullback/common";
import { MasterContext } from "../src/master-context.js";
import { Scheduler } from "../src/scheduler/scheduler.js";
import { sourceWithSlots } from "./support/scheduled-slots.js";
import { Testbed } from "./support/testbed.js";

let tb: Testbed;
let data: string;

before(async () => {
  tb = await Testbed.create();
  data = tb.localSource("docs");
  tb.ok(["policy", "add", "keep2", "--rule", "0 1 * * *=incremental", "--keep-last", "2"]);
  tb.ok(["source", "set", "here", "docs", "--policy", "keep2"]);
});

after(async () => {
  await tb?.destroy();
});

/** One slot due at each of the first 4 ticks (the calendar is not under test). */
const everyTick = sourceWithSlots("here", "docs", { slots: 4, level: "incremental" });

test("serve applies the policy's retention after each backup and collects what it freed", async () => {
  // The catalog is opened lazily, reading DATABASE_URL then: keep it set for the whole test.
  process.env.DATABASE_URL = tb.db.url;
  const ctx = await MasterContext.open(tb.home, "silent");
  try {
    const scheduler = new Scheduler(ctx, {
      limits: { global: 1, perNode: 1 },
      sources: async () => [everyTick],
      retention: { gcIntervalMs: 0, gcGraceMs: 0 },
    });
    const unique: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      // Each backup holds one file no other backup holds, so forgetting it frees that file's chunk.
      if (i > 0) rmSync(join(data, `unique-${i - 1}.bin`));
      unique.push(randomBytes(100_000));
      writeFileSync(join(data, `unique-${i}.bin`), unique[i]!);
      const r = await scheduler.tick();
      assert.equal(r.started.length, 1, `tick ${i} started a backup`);
      while (scheduler.runningCount > 0) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal((await scheduler.tick()).started.length, 0); // no slot left: this tick only collects
    await scheduler.stop();

    const catalog = await ctx.catalog();
    const snaps = await catalog.snapshots.list({ node: "here", source: "docs" });
    assert.equal(snaps.length, 2, "keep-last 2: the two newest snapshots stay, the others were forgotten");
    const jobs = await catalog.jobs.list({ node: "here" });
    assert.equal(jobs.filter((j) => j.status === "succeeded").length, 4);
    const logs = (await Promise.all(jobs.map((j) => catalog.jobs.log(j.id)))).flat().map((l) => l.message);
    assert.ok(logs.some((m) => /^retention: forgot 1 snapshot\(s\) of here\/docs \(\w+: /.test(m)), logs.join("\n"));

    // Freed by the scheduled collection: the files only forgotten snapshots held; kept: the others.
    assert.equal(await ctx.store.chunks.has(chunkId(unique[0]!)), false, "the chunk only the first snapshot held is freed");
    assert.equal(await ctx.store.chunks.has(chunkId(unique[1]!)), false, "the chunk only the second snapshot held is freed");
    assert.equal(await ctx.store.chunks.has(chunkId(unique[3]!)), true, "the newest snapshot's chunk stays");
  } finally {
    await ctx.close();
    delete process.env.DATABASE_URL;
  }
});
