import { test } from "node:test";
import assert from "node:assert/strict";
import { AgentService, encodeEntryBatch, type Entry } from "../src/rpc/generated/agent.js";
import { refuseOversizeBatch } from "../src/rpc/entry-batch-guard.js";
import { MAX_ENTRIES_PER_MESSAGE } from "../src/rpc/limits.js";

const t = "1700000000000000000";
const entry = (path: string): Entry => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, mtimeNs: t, atimeNs: t, ctimeNs: t, size: 0, ino: 1, dev: 1, chunks: [], holes: [], unchanged: false });
const batchOf = (n: number) => AgentService.backup.responseSerialize({ msg: "entries", entries: { entries: Array.from({ length: n }, (_, i) => entry(`f${i}`)) } });

/** BackupResponse field 7 (EntryBatch) around already-encoded batch bytes. */
function field7(inner: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x3a]), varint(inner.length), inner]);
}
function varint(v: number): Buffer {
  const b: number[] = [];
  for (; v > 127; v >>>= 7) b.push((v & 127) | 128);
  b.push(v);
  return Buffer.from(b);
}

test("a batch at the limit passes and decodes; one entry more is refused before decoding, naming the count", () => {
  const atLimit = batchOf(MAX_ENTRIES_PER_MESSAGE);
  refuseOversizeBatch(atLimit);
  const m = AgentService.backup.responseDeserialize(atLimit);
  assert.equal(m.msg === "entries" && m.entries.entries.length, MAX_ENTRIES_PER_MESSAGE);
  assert.throws(() => refuseOversizeBatch(batchOf(MAX_ENTRIES_PER_MESSAGE + 1)), new RegExp(`sent ${MAX_ENTRIES_PER_MESSAGE + 1} entries in one message; at most ${MAX_ENTRIES_PER_MESSAGE}`));
  for (const other of [AgentService.backup.responseSerialize({ msg: "entry", entry: entry("a") }), AgentService.backup.responseSerialize({ msg: "progress", progress: { entries: 5, bytesRead: 1, bytesSent: 1, currentPath: "x" } })]) {
    refuseOversizeBatch(other);
  }
});

test("a batch split over two fields (the decoder merges them) and one hidden behind an unknown group are counted whole", () => {
  const half = encodeEntryBatch({ entries: Array.from({ length: MAX_ENTRIES_PER_MESSAGE / 2 + 1 }, (_, i) => entry(`f${i}`)) });
  const split = Buffer.concat([field7(half), field7(half)]);
  const decoded = AgentService.backup.responseDeserialize(split);
  assert.equal(decoded.msg === "entries" && decoded.entries.entries.length, MAX_ENTRIES_PER_MESSAGE + 2, "protobufjs merges repeated message fields");
  assert.throws(() => refuseOversizeBatch(split), /sent 4098 entries/);
  // An unknown field 15 as a group (start tag 15<<3|3, end tag 15<<3|4) before the batch.
  const group = Buffer.from([0x7b, 0x08, 0x01, 0x7c]);
  assert.throws(() => refuseOversizeBatch(Buffer.concat([group, batchOf(MAX_ENTRIES_PER_MESSAGE + 1)])), /entries in one message/);
});

test("bytes the scan cannot walk are refused as malformed, not let through uncounted", () => {
  const truncated = field7(Buffer.from([0x0a, 0x05, 0x00]));
  assert.throws(() => refuseOversizeBatch(truncated), /malformed message/);
  // An entry whose length runs past its batch into the bytes after it.
  const overrun = Buffer.concat([field7(Buffer.from([0x0a, 0x05, 0x00])), Buffer.alloc(4)]);
  assert.throws(() => refuseOversizeBatch(overrun), /malformed message \(an entry overruns its batch\)/);
});
