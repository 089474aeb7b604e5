/**
 * An agent with a valid certificate that accepts a backup or restore and then says nothing must not
 * hold the job: the master's idle timeout fails it with a reason naming the node, and the job row
 * says so. An agent that is slow but alive (sending progress) keeps going; one that talks forever
 * is stopped by the deadline. Text the agent makes up (warnings, errors) reaches the terminal
 * escaped. The agent here is the real gRPC server with real TLS and a certificate from a real
 * enrollment bundle, with scripted handlers.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { agentFacts } from "@pullback/agent";
import { loadTlsIdentity } from "@pullback/common/pki/index";
import * as grpc from "@grpc/grpc-js";
import { RpcError, createAgentServer, entryToWire, type AgentServer, type BackupSession, type RestoreSession } from "@pullback/common/rpc/index";
import type { JobRow } from "../src/catalog/index.js";
import { MasterContext } from "../src/master-context.js";
import { Scheduler } from "../src/scheduler/scheduler.js";
import { sourceWithSlots } from "./support/scheduled-slots.js";
import { freePort } from "@pullback/testkit";
import { Testbed, type CliResult } from "./support/testbed.js";

type Script = "silent" | "slow" | "chatty" | "hostile-text" | "hostile-error";

/** Terminal commands a hostile node hides in its text: window title, clipboard (OSC 52), clear screen. */
const ESCAPES = "\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2J";
/** What a terminal would act on: C0 but newline, DEL, C1, bidi controls. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

let tb: Testbed;
let agent: AgentServer;
let script: Script = "silent";
let snapshotId: string;

/** Resolves when the master cancels the call (what a silent agent waits for). */
const cancelled = (signal: AbortSignal) => new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener("abort", () => r())));

/** Sends progress every 300 ms for `ms` (forever when Infinity), or until the master cancels. */
async function keepTalking(signal: AbortSignal, ms: number, send: () => Promise<void>): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !signal.aborted) {
    await send();
    await sleep(300);
  }
}

async function backup(s: BackupSession): Promise<void> {
  await s.accept();
  if (script === "silent") return cancelled(s.signal);
  if (script === "hostile-error") throw new RpcError(grpc.status.FAILED_PRECONDITION, `disk full${ESCAPES}`);
  for (let m = await s.messages.next(); m && m.msg !== "indexComplete"; m = await s.messages.next());
  if (script === "hostile-text") {
    await s.send({ msg: "warning", warning: { path: `etc/${ESCAPES}`, code: "file", message: `vanished\u202e${ESCAPES}` } });
    script = "slow";
  }
  const progress = () => s.send({ msg: "progress", progress: { entries: 0, bytesRead: 0, bytesSent: 0, currentPath: "working" } });
  await keepTalking(s.signal, script === "slow" ? 3000 : Infinity, progress);
  if (s.signal.aborted) return;
  const now = `${BigInt(Date.now()) * 1_000_000n}`;
  const dir = { path: "d", type: "dir" as const, mode: 0o755, uid: 0, gid: 0, mtimeNs: now, atimeNs: now, ctimeNs: now, size: 0, ino: 2, dev: 1 };
  await s.send({ msg: "entry", entry: entryToWire(dir) });
  const stats = { files: 0, dirs: 1, otherEntries: 0, bytesTotal: 0, bytesRead: 0, bytesSent: 0, chunksTotal: 0, chunksSent: 0, warnings: 0, level: "full" };
  await s.send({ msg: "done", done: { stats } });
}

async function restore(s: RestoreSession): Promise<void> {
  await s.accept();
  if (script === "silent") return cancelled(s.signal);
  let entries = 0;
  let bytes = 0;
  for await (const m of s.messages) {
    if (m.msg === "entry") entries++;
    if (m.msg === "chunk") {
      bytes += m.chunk.plainLength;
      await s.send({ msg: "ack", ack: { chunkIds: [m.chunk.id], bytes: m.chunk.data.length } });
    }
    if (m.msg === "end") break;
  }
  const progress = () => s.send({ msg: "progress", progress: { entriesDone: entries, bytesWritten: bytes, currentPath: "finishing" } });
  await keepTalking(s.signal, script === "slow" ? 3000 : Infinity, progress);
  if (!s.signal.aborted) await s.send({ msg: "done", done: { entries, bytesWritten: bytes, warnings: 0 } });
}

/** The CLI in a child process, awaited without blocking this process (which serves the agent). */
function cli(args: string[]): Promise<CliResult & { seconds: number }> {
  const started = Date.now();
  const p = tb.cliAsync(args);
  let stdout = "";
  let stderr = "";
  p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (Date.now() - started) / 1000 })));
}

async function lastJob(): Promise<JobRow> {
  const r = await cli(["jobs", "--node", "mute", "--json"]);
  const jobs = JSON.parse(r.stdout) as JobRow[];
  return jobs.reduce((a, b) => (a.id > b.id ? a : b));
}

before(async () => {
  tb = await Testbed.create();
  const port = await freePort();
  const bundle = join(tb.dir, "mute.tgz");
  const restoreDir = join(tb.dir, "restore");
  tb.ok(["enroll", "mute", "--allow", "/srv", "--restore-allow", restoreDir, "--listen", `127.0.0.1:${port}`, "--address", `127.0.0.1:${port}`, "--out", bundle]);
  const agentDir = join(tb.dir, "agent-mute");
  mkdirSync(agentDir);
  assert.equal(spawnSync("tar", ["-xzf", bundle, "-C", agentDir]).status, 0);
  const pki = join(agentDir, "pki");
  const { identity } = loadTlsIdentity({ ca: join(pki, "ca.crt"), cert: join(pki, "agent.crt"), key: join(pki, "agent.key") }, "agent", "mute");
  agent = await createAgentServer({ info: () => agentFacts("mute"), backup, restore }, identity, {
    address: `127.0.0.1:${port}`,
    agentVersion: "scripted",
  });
  tb.ok(["source", "add", "mute", "data", "--path", "/srv"]);
  writeFileSync(join(tb.localSource("files"), "hello.txt"), "hello\n");
  snapshotId = tb.json<{ snapshot: { id: string } }>(["backup", "here", "files", "--level", "full"]).snapshot.id;
});

after(async () => {
  agent?.forceClose();
  await agent?.close();
  await tb?.destroy();
});

test("a backup from an agent that accepts and then says nothing fails after the idle timeout, and the job row says why", async () => {
  script = "silent";
  const r = await cli(["backup", "mute", "data", "--level", "full", "--idle-timeout", "1s"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /agent mute sent nothing for 1 s \(idle timeout\)/);
  assert.ok(r.seconds < 15, `the backup ended after ${r.seconds} s`);
  const job = await lastJob();
  assert.equal(job.status, "failed");
  assert.match(job.error ?? "", /agent mute sent nothing for 1 s \(idle timeout\)/);
});

test("a restore to an agent that accepts and then says nothing fails after the idle timeout", async () => {
  script = "silent";
  const r = await cli(["restore", snapshotId, "--node", "mute", "--target", join(tb.dir, "restore"), "--idle-timeout", "1s"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /agent mute sent nothing for 1 s \(idle timeout\)/);
  assert.ok(r.seconds < 15, `the restore ended after ${r.seconds} s`);
});

test("an agent that is slow but sends progress outlives the idle timeout: backup and restore succeed", async () => {
  script = "slow";
  const b = await cli(["backup", "mute", "data", "--level", "full", "--idle-timeout", "1s", "--json"]);
  assert.equal(b.code, 0, b.stderr);
  assert.ok(b.seconds >= 3, `the agent talked for 3 s, the backup took ${b.seconds} s`);
  assert.equal((await lastJob()).status, "succeeded");
  const r = await cli(["restore", snapshotId, "--node", "mute", "--target", join(tb.dir, "restore"), "--idle-timeout", "1s", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.seconds >= 3, `the agent talked for 3 s, the restore took ${r.seconds} s`);
});

test("an agent that talks forever is stopped by the deadline of a manual backup and restore", async () => {
  script = "chatty";
  const b = await cli(["backup", "mute", "data", "--level", "full", "--idle-timeout", "1s", "--deadline", "3s"]);
  assert.equal(b.code, 1, b.stderr);
  assert.match(b.stderr, /agent mute did not finish within 3 s/);
  const job = await lastJob();
  assert.equal(job.status, "failed");
  assert.match(job.error ?? "", /did not finish within 3 s/);
  const r = await cli(["restore", snapshotId, "--node", "mute", "--target", join(tb.dir, "restore"), "--deadline", "3s"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /agent mute did not finish within 3 s/);
});

test("a scheduled backup from a silent agent fails by the idle timeout of master.yaml, long before its policy timeout", async () => {
  script = "silent";
  const configPath = join(tb.home, "master.yaml");
  writeFileSync(configPath, readFileSync(configPath, "utf8").replace(/idleSeconds: \d+/, "idleSeconds: 1"));
  process.env.DATABASE_URL = tb.db.url;
  const ctx = await MasterContext.open(tb.home, "silent");
  try {
    const mute = sourceWithSlots("mute", "data", { timeoutSeconds: 3600 });
    const scheduler = new Scheduler(ctx, { limits: { global: 1, perNode: 1 }, sources: async () => [mute] });
    const r = await scheduler.tick();
    assert.equal(r.started.length, 1);
    const started = Date.now();
    await scheduler.stop();
    const elapsed = (Date.now() - started) / 1000;
    assert.ok(elapsed < 15, `the idle timeout cut the job after ${elapsed} s`);
    const job = (await (await ctx.catalog()).jobs.list({ node: "mute" })).find((j) => j.id === r.started[0]);
    assert.equal(job?.status, "failed");
    assert.match(job!.error ?? "", /agent mute sent nothing for 1 s \(idle timeout\)/);
  } finally {
    await ctx.close();
    delete process.env.DATABASE_URL;
  }
});

test("warnings and errors a hostile agent fills with escape sequences reach the terminal as visible text", async () => {
  script = "hostile-text";
  const warned = await cli(["backup", "mute", "data", "--level", "full", "--idle-timeout", "10s"]);
  assert.equal(warned.code, 3, warned.stderr);
  assert.equal(RAW_CONTROL.exec(warned.stdout + warned.stderr), null, JSON.stringify(warned.stdout + warned.stderr));
  assert.ok(warned.stdout.includes("etc/\\x1b]0;owned\\x07"), warned.stdout);
  assert.ok(warned.stdout.includes("vanished\\u202e"), warned.stdout);

  script = "hostile-error";
  const failed = await cli(["backup", "mute", "data", "--level", "full"]);
  assert.equal(failed.code, 1, failed.stderr);
  assert.equal(RAW_CONTROL.exec(failed.stderr), null, JSON.stringify(failed.stderr));
  assert.match(failed.stderr, /agent mute.*disk full\\x1b\]0;owned\\x07/);
  // The job list quotes the node's error too.
  const jobs = await cli(["jobs", "--node", "mute"]);
  assert.equal(RAW_CONTROL.exec(jobs.stdout), null, JSON.stringify(jobs.stdout));
  assert.ok(jobs.stdout.includes("disk full\\x1b]0;owned"), jobs.stdout);
});
