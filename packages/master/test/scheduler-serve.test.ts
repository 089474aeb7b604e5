/**
 * The scheduler with real processes and a real catalog: two masters sharing one catalog never run a
 * job twice; a job abandoned by a killed master is failed with that reason; a hung node times out
 * and the job is retried with backoff.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, readdirSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { ChildProcess } from "node:child_process";
import { openCatalog, type OpenedCatalog } from "../src/catalog/index.js";
import { MasterContext } from "../src/master-context.js";
import { Scheduler } from "../src/scheduler/scheduler.js";
import { sourceWithSlots } from "./support/scheduled-slots.js";
import { freePort } from "@pullback/testkit";
import { Testbed } from "./support/testbed.js";

let tb: Testbed;
let opened: OpenedCatalog;

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.once("exit", r)));
}

before(async () => {
  tb = await Testbed.create();
  opened = await openCatalog({ home: tb.home, databaseUrl: tb.db.url });
});
after(async () => {
  await opened?.close();
  await tb?.destroy();
});

test("two masters on one catalog: 50 due jobs, each runs exactly once", async () => {
  const c = opened.catalog;
  for (let n = 0; n < 5; n++) await c.nodes.ensure(`n${n}`, "local");
  for (let i = 0; i < 50; i++) {
    const dir = join(tb.dir, "two", `s${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "data.bin"), randomBytes(2 * 1024 * 1024));
    await c.sources.ensure(`n${i % 5}`, `s${i}`, "fs", { path: dir, excludes: [] });
  }
  // A daily slot one minute ago with an hour's window: due now, and not again for a day.
  const t = new Date(Date.now() - 60_000);
  tb.ok(["policy", "add", "daily", "--rule", `${t.getUTCMinutes()} ${t.getUTCHours()} * * *=full`, "--window", "60"]);
  for (let i = 0; i < 50; i++) tb.ok(["source", "set", `n${i % 5}`, `s${i}`, "--policy", "daily"]);

  const masters = [0, 1].map(() => tb.cliAsync(["serve", "--interval", "1", "--max-jobs", "3", "--per-node", "1", "--exit-when-idle"]));
  const codes = await Promise.all(masters.map(exited));
  assert.deepEqual(codes, [0, 0]);

  const db = new pg.Client({ connectionString: tb.db.url });
  await db.connect();
  try {
    const jobs = (await db.query<{ status: string; claimed_by: string; snapshot_id: string; source_id: number }>("SELECT status, claimed_by, snapshot_id, source_id FROM jobs WHERE kind = 'backup'")).rows;
    assert.equal(jobs.length, 50, "one job per source and slot, whichever master planned it");
    assert.ok(jobs.every((j) => j.status === "succeeded"), JSON.stringify(jobs.filter((j) => j.status !== "succeeded")));
    assert.equal(new Set(jobs.map((j) => j.snapshot_id)).size, 50);
    const byMaster = new Map<string, number>();
    for (const j of jobs) byMaster.set(j.claimed_by, (byMaster.get(j.claimed_by) ?? 0) + 1);
    assert.equal(byMaster.size, 2, `both masters took work: ${JSON.stringify([...byMaster])}`);
  } finally {
    await db.end();
  }
  // The store agrees: exactly one snapshot per source.
  for (let n = 0; n < 5; n++) {
    for (const src of readdirSync(join(tb.home, "store", "snapshots", `n${n}`))) {
      assert.equal(readdirSync(join(tb.home, "store", "snapshots", `n${n}`, src)).length, 1, `n${n}/${src}`);
    }
  }
});

test("a job left running by a killed master is failed with that reason by the next master", async () => {
  const c = opened.catalog;
  const dir = join(tb.dir, "abandoned");
  mkdirSync(dir);
  for (let i = 0; i < 8; i++) writeFileSync(join(dir, `f${i}.bin`), randomBytes(32 * 1024 * 1024));
  await c.nodes.ensure("slow", "local");
  await c.sources.ensure("slow", "big", "fs", { path: dir, excludes: [] });
  tb.ok(["source", "set", "slow", "big", "--policy", "daily"]);
  const m = tb.cliAsync(["serve", "--interval", "1", "--stale-after", "2"]);
  const db = new pg.Client({ connectionString: tb.db.url });
  await db.connect();
  try {
    let running: { id: number } | undefined;
    for (let i = 0; i < 100 && !running; i++) {
      await new Promise((r) => setTimeout(r, 100));
      running = (await db.query<{ id: number }>("SELECT j.id FROM jobs j JOIN sources s ON s.id = j.source_id WHERE s.name = 'big' AND j.status = 'running'")).rows[0];
    }
    assert.ok(running, "the master started the job");
    m.kill("SIGKILL");
    await exited(m);
    const next = tb.cliAsync(["serve", "--interval", "1", "--stale-after", "2"]);
    let row: { status: string; error: string } | undefined;
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      row = (await db.query<{ status: string; error: string }>("SELECT status, error FROM jobs WHERE id = $1", [running.id])).rows[0];
      if (row?.status === "failed") break;
    }
    next.kill("SIGTERM");
    await exited(next);
    assert.equal(row?.status, "failed");
    assert.match(row!.error, /the master running this job \(.+\) stopped before it finished; its stored chunks will be reused/);
  } finally {
    await db.end();
  }
});

test("a node that hangs is cut off by the job timeout, and the job is retried with backoff", async () => {
  // A black hole: accepts TCP connections and never answers the TLS handshake.
  const port = await freePort();
  const held = new Set<Socket>();
  const hole: Server = createServer((s) => held.add(s)).listen(port, "127.0.0.1");
  // The catalog is opened lazily, reading DATABASE_URL then: keep it set for the whole test.
  process.env.DATABASE_URL = tb.db.url;
  const ctx = await MasterContext.open(tb.home, "silent");
  try {
    const c = await ctx.catalog();
    await c.nodes.ensure("hung", `127.0.0.1:${port}`);
    await c.sources.ensure("hung", "etc", "fs", { path: "/etc", excludes: [] });
    const hung = sourceWithSlots("hung", "etc", {
      timeoutSeconds: 2,
      maxAttempts: 2,
      retryAt: (failures, failedAt) => (failures < 2 ? new Date(failedAt.getTime() + 30_000) : null),
    });
    const scheduler = new Scheduler(ctx, { limits: { global: 1, perNode: 1 }, sources: async () => [hung] });
    // Other tests' sources have no due slots left; only this job is runnable.
    const r = await scheduler.tick();
    assert.equal(r.started.length, 1);
    const started = Date.now();
    await scheduler.stop();
    const elapsed = (Date.now() - started) / 1000;
    assert.ok(elapsed >= 1.5 && elapsed < 15, `the timeout cut the job after ${elapsed} s`);
    const jobs = await c.jobs.list({ node: "hung" });
    const failed = jobs.find((j) => j.id === r.started[0]);
    assert.equal(failed?.status, "failed");
    assert.match(failed!.error ?? "", /timed out after 2 s/);
    const retry = jobs.find((j) => j.attempt === 2);
    assert.equal(retry?.status, "queued", "the second attempt is queued after the backoff");
  } finally {
    // The hole holds the master's socket open; a test that leaves it open never exits.
    for (const s of held) s.destroy();
    hole.close();
    await ctx.close();
    delete process.env.DATABASE_URL;
  }
});
