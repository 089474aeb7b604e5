import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CAPABILITY_ENTRY_BATCH,
  ENTRY_BATCH_BYTES,
  ENTRY_BATCH_ENTRIES,
  MAX_ENTRIES_PER_MESSAGE,
  type BackupResponse,
  type BackupSession,
  type wire,
} from "@pullback/common/rpc/index";
import { BackupSender } from "../src/server/backup-sender.js";

/** A session that records what is sent; only the fields BackupSender reads are real. */
function fakeSession(capabilities: string[]): { session: BackupSession; sent: BackupResponse[] } {
  const sent: BackupResponse[] = [];
  const session = { start: { capabilities }, send: async (m: BackupResponse) => void sent.push(m) } as unknown as BackupSession;
  return { session, sent };
}

function entry(path: string, chunks = 0): wire.Entry {
  const t = "1700000000000000000";
  const id = new Uint8Array(32);
  return { path, type: "file", mode: 0o644, uid: 0, gid: 0, mtimeNs: t, atimeNs: t, ctimeNs: t, size: 0, ino: 1, dev: 1, chunks: Array.from({ length: chunks }, (_, i) => ({ id, off: i, len: 1 })), holes: [], unchanged: false };
}

/** The messages as the master would read them: entries flattened, others by kind. */
function flatten(sent: BackupResponse[]): string[] {
  return sent.flatMap((m) => (m.msg === "entries" ? m.entries.entries.map((e) => e.path) : m.msg === "entry" ? [m.entry.path] : [m.msg]));
}

const progress: BackupResponse = { msg: "progress", progress: { entries: 0, bytesRead: 0, bytesSent: 0, currentPath: "" } };

test("to a master that reads batches, consecutive entries share a message and nothing overtakes them", async () => {
  const { session, sent } = fakeSession([CAPABILITY_ENTRY_BATCH]);
  const s = new BackupSender(session);
  await s.entry(entry("a"));
  await s.entry(entry("b"));
  await s.send(progress);
  await s.entry(entry("c"));
  await s.flush();
  await s.flush();
  await s.entry(entry("d"));
  await s.send({ msg: "warning", warning: { path: "d", code: "file", message: "m" } });
  await s.send({ msg: "done", done: {} });
  assert.deepEqual(flatten(sent), ["a", "b", "progress", "c", "d", "warning", "done"]);
  assert.deepEqual(sent.map((m) => m.msg), ["entries", "progress", "entries", "entries", "warning", "done"], "an empty flush sends nothing");
});

test("to an older master (no capability), every entry goes alone", async () => {
  const { session, sent } = fakeSession([]);
  const s = new BackupSender(session);
  for (const p of ["a", "b", "c"]) await s.entry(entry(p));
  await s.send({ msg: "done", done: {} });
  assert.deepEqual(sent.map((m) => m.msg), ["entry", "entry", "entry", "done"]);
});

test("a batch is cut at the entry count and at the byte bound; an entry over the byte bound goes alone", async () => {
  assert.ok(ENTRY_BATCH_ENTRIES <= MAX_ENTRIES_PER_MESSAGE, "the agent's batches must fit the master's limit");
  const { session, sent } = fakeSession([CAPABILITY_ENTRY_BATCH]);
  const s = new BackupSender(session);
  for (let i = 0; i < ENTRY_BATCH_ENTRIES * 2 + 1; i++) await s.entry(entry(`f${i}`));
  await s.flush();
  assert.deepEqual(sent.map((m) => (m.msg === "entries" ? m.entries.entries.length : -1)), [ENTRY_BATCH_ENTRIES, ENTRY_BATCH_ENTRIES, 1]);

  sent.length = 0;
  const refsOverBound = Math.ceil(ENTRY_BATCH_BYTES / 34);
  await s.entry(entry("small"));
  await s.entry(entry("huge", refsOverBound));
  await s.entry(entry("after"));
  await s.flush();
  assert.deepEqual(sent.map((m) => (m.msg === "entries" ? m.entries.entries.map((e) => e.path).join(",") : m.msg)), ["small", "huge", "after"]);
});
