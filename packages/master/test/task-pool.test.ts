import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { TaskPool } from "../src/util/task-pool.js";

/** Records unhandled rejections while `body` runs (Node would end the process on the first one). */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await body();
    // Unhandled rejections are reported after the microtask queue drains: give them a turn.
    await sleep(50);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  return seen;
}

test("a task that fails long before drain() is not an unhandled rejection; drain() rethrows it", async () => {
  const pool = new TaskPool(4);
  const dropped = new Error("agent web1 dropped the connection");
  let drained: unknown;
  const unhandled = await unhandledDuring(async () => {
    await pool.run(async () => {
      await sleep(5);
      throw dropped;
    });
    await pool.run(() => sleep(20));
    // The caller is still busy with other work (reading the manifest) when the task fails.
    await sleep(50);
    drained = await pool.drain().then(
      () => "resolved",
      (e: unknown) => e,
    );
  });
  assert.deepEqual(unhandled, []);
  assert.equal(drained, dropped);
});

test("after a failure, run() refuses new work with the first error, also for callers waiting for a slot", async () => {
  const pool = new TaskPool(1);
  const first = new Error("first");
  const started: string[] = [];
  const unhandled = await unhandledDuring(async () => {
    await pool.run(async () => {
      await sleep(10);
      throw first;
    });
    // Waits for the single slot; the failing task frees it.
    await assert.rejects(
      pool.run(async () => void started.push("late")),
      (e) => e === first,
    );
    await assert.rejects(pool.drain(), (e) => e === first);
  });
  assert.deepEqual(unhandled, []);
  assert.deepEqual(started, [], "no task starts once one has failed");
});

test("without failures every task runs, at most `limit` at once", async () => {
  const pool = new TaskPool(3);
  let active = 0;
  let peak = 0;
  let done = 0;
  for (let i = 0; i < 20; i++) {
    await pool.run(async () => {
      peak = Math.max(peak, ++active);
      await sleep(5);
      active--;
      done++;
    });
  }
  await pool.drain();
  assert.equal(done, 20);
  assert.equal(peak, 3);
});
