/**
 * A node floods the master with warnings: many, and each megabytes long. Once this ran the master
 * out of heap and added gigabytes to job_logs. Now the master keeps the first 1000 warnings of a
 * job, each cut to 4 KiB and escaped, counts the rest, and finishes the job, on backup and restore.
 * The master runs with a small heap here, so keeping the flood in memory would kill it.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { SnapshotRecord } from "@pullback/common";
import { Testbed } from "./support/testbed.js";
import { ref, startHostileAgent, type HostileAgent } from "./support/hostile-agent.js";

const MiB = 1024 * 1024;
/** Big warnings: 240 MiB in all, more than the master's heap below. */
const BIG = 60;
const BIG_BYTES = 4 * MiB;
const SMALL = 1440;
/** Enough for the master's own work; far too little to hold the flood. */
const MASTER_HEAP_MB = 160;

let tb: Testbed;
let evil: HostileAgent;
let db: pg.Client;

before(async () => {
  tb = await Testbed.create();
  evil = await startHostileAgent(tb, "evil", ["/"], ["/"]);
  tb.ok(["source", "add", "evil", "home", "--path", "/home"]);
  db = new pg.Client({ connectionString: tb.db.url });
  await db.connect();
});

after(async () => {
  await db?.end();
  await evil?.close();
  await tb?.destroy();
});

/** Runs the master CLI with a small heap (the hostile agent answers from this process). */
async function smallHeapCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ""} --max-old-space-size=${MASTER_HEAP_MB}`;
  try {
    return await tb.cliAwait(args);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

/** Sends the flood: big warnings with a control sequence in them, then many small ones. */
async function flood(send: (path: string, message: string) => Promise<void>): Promise<void> {
  const big = "\u001b[2J" + "w".repeat(BIG_BYTES);
  for (let i = 0; i < BIG; i++) await send(`big-${i}-${"p".repeat(MiB)}`, big);
  for (let i = 0; i < SMALL; i++) await send(`small-${i}`, "cannot read");
}

test("a backup whose node floods warnings completes, with the job log and the record bounded", async () => {
  const data = randomBytes(10_000);
  evil.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o755 });
    await b.progress("x".repeat(4 * MiB));
    await flood((path, message) => b.warning(path, message));
    const id = await b.chunk(data);
    await b.entry({ path: "f", size: data.length, chunks: [ref(id, 0, data.length)] });
  });
  const r = await smallHeapCli(["backup", "evil", "home", "--json"]);
  assert.equal(r.code, 3, `the backup must finish with warnings, the master alive: ${r.stderr.slice(0, 2000)}`);
  const { job, snapshot } = JSON.parse(r.stdout) as { job: number; snapshot: SnapshotRecord };
  assert.equal(snapshot.stats.warnings, BIG + SMALL, "every warning is counted");
  assert.equal(snapshot.warnings.length, 1001);
  assert.equal(snapshot.warnings.at(-1), "500 more warning(s) not kept (only the first 1000 of a job are)");
  const first = snapshot.warnings[0]!;
  assert.ok(first.length < 10_000, `a kept warning is ${first.length} characters`);
  assert.match(first, /^big-0-p+… \[\d+ more characters not kept\]: \\x1b\[2Jw+… \[\d+ more characters not kept\]$/);

  const logs = await db.query<{ rows: string; longest: number; bytes: string; last: string }>(
    `SELECT count(*) AS rows, max(octet_length(message)) AS longest, sum(octet_length(message)) AS bytes,
            (array_agg(message ORDER BY id DESC))[1] AS last
     FROM job_logs WHERE job_id = $1 AND level = 'warn'`,
    [job],
  );
  const l = logs.rows[0]!;
  assert.equal(Number(l.rows), 1001);
  assert.ok(l.longest < 10_000, `longest job log line: ${l.longest} bytes`);
  assert.ok(Number(l.bytes) < 1001 * 10_000, `job log: ${l.bytes} bytes`);
  assert.match(l.last, /^500 more warning\(s\) not kept/);
  process.stdout.write(`# job_logs for the flood: ${l.rows} rows, ${l.bytes} bytes, longest ${l.longest} bytes\n`);
  const sizes = await db.query<{ job: number; snap: number }>(
    `SELECT (SELECT pg_column_size(warnings) FROM jobs WHERE id = $1) AS job, (SELECT pg_column_size(warnings) FROM snapshots WHERE id = $2) AS snap`,
    [job, snapshot.id],
  );
  assert.ok(sizes.rows[0]!.job < 2 * MiB && sizes.rows[0]!.snap < 2 * MiB, `catalog warnings: ${JSON.stringify(sizes.rows[0])}`);
});

test("a restore whose node floods warnings completes, with its report bounded", async () => {
  const [snap] = tb.json<{ id: string }[]>(["snapshots", "evil", "home"]);
  evil.onRestore(async (s) => {
    await s.accept();
    for await (const m of s.messages) if (m.msg === "end") break;
    await flood((path, message) => s.send({ msg: "warning", warning: { path, code: "restore", message } }));
    await s.send({ msg: "done", done: { entries: 2, bytesWritten: 0, warnings: BIG + SMALL } });
  });
  const r = await smallHeapCli(["restore", snap!.id, "--node", "evil", "--target", "/restore-here", "--json"]);
  assert.equal(r.code, 3, `the restore must finish with warnings, the master alive: ${r.stderr.slice(0, 2000)}`);
  assert.ok(r.stdout.length < 12 * MiB, `the restore report is ${r.stdout.length} characters`);
  const report = JSON.parse(r.stdout) as { errors: string[] };
  assert.equal(report.errors.length, 1001);
  assert.match(report.errors.at(-1)!, /^500 more warning\(s\) not kept/);
  assert.ok(report.errors.every((e) => e.length < 10_000 && !e.includes("\u001b")));
});
