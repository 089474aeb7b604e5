import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEntry, encodeEntry, ManifestParser, checkRelativePath, type Entry } from "../src/index.js";

const file: Entry = {
  path: "dir/ünï cödé.txt",
  type: "file",
  mode: 0o640,
  uid: 1000,
  gid: 1000,
  user: "alice",
  mtimeNs: "1700000000123456789",
  atimeNs: "1700000000123456789",
  ctimeNs: "1700000000123456789",
  size: 3000,
  ino: 42,
  dev: 7,
  chunks: [{ id: "a".repeat(64), off: 0, len: 1000 }],
  holes: [{ off: 1000, len: 2000 }],
};

test("entries round-trip through NDJSON split at any byte", () => {
  const text = Buffer.from(encodeEntry(file) + encodeEntry({ ...file, path: "x", type: "dir", chunks: undefined, holes: undefined, size: 0 }));
  for (const cut of [1, 7, 20, text.length - 1]) {
    const p = new ManifestParser();
    const got = [...p.push(text.subarray(0, cut)), ...p.push(text.subarray(cut)), ...p.end()];
    assert.equal(got.length, 2);
    assert.deepEqual(got[0], file);
    assert.equal(got[1]!.type, "dir");
  }
});

test("malformed manifest lines are refused with the line number", () => {
  assert.throws(() => decodeEntry("{not json", 3), /manifest line 3: not JSON/);
  assert.throws(() => decodeEntry(JSON.stringify({ ...JSON.parse(encodeEntry(file)), type: "door" }), 1), /unknown entry type door/);
  assert.throws(() => decodeEntry(JSON.stringify({ ...JSON.parse(encodeEntry(file)), chunks: [["zz", 0, 1]] }), 1), /bad chunk reference/);
  const p = new ManifestParser();
  p.push(Buffer.from(encodeEntry(file).slice(0, 30)));
  assert.throws(() => p.end(), /truncated/);
});

test("only plain relative paths are acceptable", () => {
  for (const bad of ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/", "a\0b"]) {
    assert.notEqual(checkRelativePath(bad), null, bad);
  }
  for (const ok of [".", "a", "a/b c/ü", "..a", "a..", ".hidden"]) assert.equal(checkRelativePath(ok), null, ok);
});
