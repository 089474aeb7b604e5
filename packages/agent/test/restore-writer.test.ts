import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "@pullback/common";
import { RestoreWriter } from "../src/index.js";

function entry(path: string, type: Entry["type"], extra: Partial<Entry> = {}): Entry {
  const now = `${Date.now()}000000`;
  return { path, type, mode: 0o644, uid: 0, gid: 0, mtimeNs: now, atimeNs: now, ctimeNs: now, size: 0, ino: 1, dev: 1, ...extra };
}

function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), "pullback-rw-"));
  const target = join(dir, "target");
  const outside = join(dir, "outside");
  mkdirSync(outside);
  return { dir, target, outside, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test("paths that climb out of the target are refused and nothing is written outside", async () => {
  const s = sandbox();
  const w = new RestoreWriter(s.target);
  await w.begin();
  for (const p of ["../outside/evil", "/tmp/evil-abs", "a/../../outside/evil", "a//b"]) {
    await assert.rejects(w.openFile(entry(p, "file", { size: 4 })), /refusing entry path/, p);
    await assert.rejects(w.entry(entry(p, "dir")), /refusing entry path/, p);
  }
  await assert.rejects(w.entry(entry("h", "hardlink", { target: "../outside/x" })), /refusing entry path/);
  assert.equal(existsSync(join(s.outside, "evil")), false);
  s.done();
});

test("a symlink in the snapshot cannot be used to write through it", async () => {
  const s = sandbox();
  const w = new RestoreWriter(s.target);
  await w.begin();
  // The snapshot says "a" is a symlink to the outside and then holds "a/passwd".
  await w.entry(entry("a", "symlink", { target: s.outside }));
  const sink = await w.openFile(entry("a/passwd", "file", { size: 5 }));
  await sink.write(0, Buffer.from("owned"));
  await sink.close();
  const problems = await w.finish();
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^a: cannot replace directory .*\/a with a non-directory/);
  assert.equal(existsSync(join(s.outside, "passwd")), false, "nothing may land outside the target");
  s.done();
});

test("a symlinked parent already in the target is refused", async () => {
  const s = sandbox();
  mkdirSync(s.target);
  symlinkSync(s.outside, join(s.target, "etc"));
  const w = new RestoreWriter(s.target);
  await w.begin();
  await assert.rejects(w.openFile(entry("etc/shadow", "file", { size: 1 })), /not a directory \(a symlink\?\)/);
  await assert.rejects(w.entry(entry("etc", "dir")), /non-directory exists/);
  // A file entry whose own path is an existing symlink is not followed, with or without overwrite.
  symlinkSync(join(s.outside, "target-file"), join(s.target, "f"));
  await assert.rejects(w.openFile(entry("f", "file", { size: 1 })), /f already exists in the target/);
  const ow = new RestoreWriter(s.target, { overwrite: true });
  await ow.begin();
  // --overwrite replaces the symlink itself with the file, as it replaces any existing entry.
  const sink = await ow.openFile(entry("f", "file", { size: 1 }));
  await sink.write(0, Buffer.from("x"));
  await sink.close();
  assert.equal(lstatSync(join(s.target, "f")).isFile(), true);
  assert.equal(existsSync(join(s.outside, "shadow")), false);
  assert.equal(existsSync(join(s.outside, "target-file")), false);
  s.done();
});

test("files are written at their offsets with the gaps left as holes", async () => {
  const s = sandbox();
  const w = new RestoreWriter(s.target);
  await w.begin();
  const sink = await w.openFile(entry("f", "file", { size: 10 }));
  await sink.write(6, Buffer.from("tail"));
  await sink.write(0, Buffer.from("he"));
  await sink.close();
  await w.finish();
  assert.deepEqual(readFileSync(join(s.target, "f")), Buffer.from("he\0\0\0\0tail"));
  s.done();
});

test("more directories than stay open are reopened from the target, and none is left open", async () => {
  const s = sandbox();
  const openFds = () => readdirSync("/proc/self/fd").length;
  const before = openFds();
  const w = new RestoreWriter(s.target);
  await w.begin();
  const old = "1000000000000000000"; // 2001-09-09
  for (let i = 0; i < 300; i++) {
    await w.entry(entry(`d${i}`, "dir", { mtimeNs: old, atimeNs: old }));
    const sink = await w.openFile(entry(`d${i}/f`, "file", { size: 1 }));
    await sink.write(0, Buffer.from("x"));
    await sink.close();
  }
  // d0 was closed long ago: the link and the metadata at the end reach it again by walking from the target.
  await w.entry(entry("d299/link-to-d0", "hardlink", { target: "d0/f" }));
  assert.deepEqual(await w.finish(), []);
  assert.equal(statSync(join(s.target, "d299/link-to-d0")).ino, statSync(join(s.target, "d0/f")).ino);
  for (const d of ["d0", "d150", "d299"]) assert.equal(statSync(join(s.target, d)).mtimeMs, 1e12, d);
  assert.equal(openFds(), before, "the writer closed every directory it opened");
  s.done();
});
