/**
 * A local user on the node swaps a directory for a symlink to a directory outside (standing in for
 * /etc) while a backup or a restore is under way. Neither may read, write, chmod or chown anything
 * behind the symlink.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chunkId, type Entry, type SourceEvent } from "@pullback/common";
import { backupFsSource, RestoreWriter } from "../src/index.js";
import { raceHook } from "../src/safe-fs/race-hook.js";

const LOCAL_USER = 12345;

function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), "pullback-race-"));
  const etc = join(dir, "etc");
  mkdirSync(etc);
  const secret = randomBytes(3000);
  writeFileSync(join(etc, "shadow"), secret, { mode: 0o640 });
  // An old, recognisable mtime: any touch shows.
  utimesSync(join(etc, "shadow"), 1_000_000, 1_000_000);
  utimesSync(etc, 1_000_000, 1_000_000);
  return { dir, etc, secret, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Mode, owner, mtime and content of everything in `dir`, to compare before and after. */
function fingerprint(dir: string): string {
  const out: string[] = [];
  for (const name of ["", ...readdirSync(dir)]) {
    const p = join(dir, name);
    const st = lstatSync(p);
    out.push(`${name} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${st.isFile() ? createHash("sha256").update(readFileSync(p)).digest("hex") : ""}`);
  }
  return out.join("\n");
}

/** Swaps `dir` for a symlink to `to`; the real directory moves aside, as a user's `mv` would. */
function swapForSymlink(dir: string, to: string): void {
  renameSync(dir, `${dir}.moved`);
  symlinkSync(to, dir);
}

async function backupEvents(root: string, onEntry: (e: Entry) => void = () => undefined): Promise<SourceEvent[]> {
  const events: SourceEvent[] = [];
  for await (const ev of backupFsSource({ root, excludes: [], codec: { name: "none" } }, { isKnown: () => false, prior: null })) {
    events.push(ev);
    if (ev.kind === "entry") onEntry(ev.entry);
  }
  return events;
}

function assertSecretNotSent(events: SourceEvent[], secret: Buffer): void {
  for (const ev of events) {
    if (ev.kind === "chunk") {
      assert.notEqual(ev.id, chunkId(secret), "the secret's chunk was sent");
      assert.equal(Buffer.from(ev.data).includes(secret.subarray(0, 64)), false, "the secret's bytes are in a chunk");
    }
    if (ev.kind === "entry") assert.doesNotMatch(ev.entry.path, /shadow/, "an entry names the outside file");
  }
}

test("backup: a directory swapped for a symlink after it was listed is skipped, not read through", async () => {
  const s = sandbox();
  try {
    const root = join(s.dir, "allowed");
    mkdirSync(join(root, "home"), { recursive: true });
    writeFileSync(join(root, "home/notes.txt"), "mine\n");
    // The walk has listed and lstat'ed "home" (its entry is out) and is about to descend into it.
    const events = await backupEvents(root, (e) => {
      if (e.path === "home") swapForSymlink(join(root, "home"), s.etc);
    });
    assertSecretNotSent(events, s.secret);
    const warning = events.find((ev) => ev.kind === "warning" && ev.path === "home");
    assert.ok(warning && warning.kind === "warning", "the swap is reported");
    assert.match(warning.message, /changed during backup, skipped/);
  } finally {
    s.done();
  }
});

test("backup: a parent swapped while the walk is paused before opening a file still reads the listed file", async () => {
  const s = sandbox();
  try {
    const root = join(s.dir, "allowed");
    mkdirSync(join(root, "home"), { recursive: true });
    // Same name as the outside file, so a walk by path would open the outside one.
    writeFileSync(join(root, "home/shadow"), "not a secret\n");
    raceHook.beforeOpen = async (point, rel) => {
      if (point === "file" && rel === "home/shadow") swapForSymlink(join(root, "home"), s.etc);
    };
    const events = await backupEvents(root);
    for (const ev of events) if (ev.kind === "chunk") assert.equal(Buffer.from(ev.data).includes(s.secret.subarray(0, 64)), false);
    const sent = events.flatMap((ev) => (ev.kind === "chunk" ? [Buffer.from(ev.data).toString()] : []));
    assert.deepEqual(sent, ["not a secret\n"], "the file listed is the file read");
  } finally {
    raceHook.beforeOpen = undefined;
    s.done();
  }
});

function entry(path: string, type: Entry["type"], extra: Partial<Entry> = {}): Entry {
  const now = `${Date.now()}000000`;
  return { path, type, mode: type === "dir" ? 0o755 : 0o644, uid: 0, gid: 0, mtimeNs: now, atimeNs: now, ctimeNs: now, size: 0, ino: 1, dev: 1, ...extra };
}

async function writeFile(w: RestoreWriter, e: Entry, data: string): Promise<void> {
  const sink = await w.openFile({ ...e, size: data.length });
  await sink.write(0, Buffer.from(data));
  await sink.close();
}

test("restore --overwrite: a directory swapped for a symlink mid-restore creates, overwrites, chmods and chowns nothing outside", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to restore owners");
  const s = sandbox();
  try {
    const target = join(s.dir, "target");
    // A local user owns "home" in the target and controls what is in it.
    mkdirSync(join(target, "home"), { recursive: true });
    chownSync(join(target, "home"), LOCAL_USER, LOCAL_USER);
    const before = fingerprint(s.etc);
    const w = new RestoreWriter(target, { overwrite: true, owners: true });
    await w.begin();
    await w.entry(entry(".", "dir"));
    await w.entry(entry("home", "dir", { uid: LOCAL_USER, gid: LOCAL_USER }));
    await w.entry(entry("home/cfg", "dir", { uid: LOCAL_USER, gid: LOCAL_USER, mode: 0o777 }));
    await writeFile(w, entry("home/cfg/first", "file"), "first\n");
    // The user swaps home/cfg for a symlink to "/etc" between two files of the restore.
    swapForSymlink(join(target, "home/cfg"), s.etc);
    await writeFile(w, entry("home/cfg/shadow", "file", { uid: LOCAL_USER, gid: LOCAL_USER, mode: 0o4777 }), "owned\n");
    await writeFile(w, entry("home/cfg/new-file", "file", { uid: LOCAL_USER }), "planted\n");
    await w.entry(entry("home/cfg/link", "symlink", { target: "/nowhere", uid: LOCAL_USER }));
    await w.finish();
    assert.equal(fingerprint(s.etc), before, "the outside directory and its files are untouched");
    assert.deepEqual(readdirSync(s.etc), ["shadow"]);
    assert.deepEqual(readFileSync(join(s.etc, "shadow")), s.secret);
    // The files went into the directory the restore created and checked, wherever the user moved it.
    assert.equal(readFileSync(join(target, "home/cfg.moved/shadow"), "utf8"), "owned\n");
    assert.equal(statSync(join(target, "home/cfg.moved")).mode & 0o7777, 0o777);
  } finally {
    s.done();
  }
});

test("restore: a directory swapped while the restore is paused before a file is not written through", async () => {
  const s = sandbox();
  try {
    const target = join(s.dir, "target");
    const before = fingerprint(s.etc);
    raceHook.beforeOpen = async (point, rel) => {
      if (point === "file" && rel === "home/cfg/shadow") swapForSymlink(join(target, "home/cfg"), s.etc);
    };
    const w = new RestoreWriter(target, { overwrite: true });
    await w.begin();
    await w.entry(entry("home", "dir"));
    await w.entry(entry("home/cfg", "dir"));
    await writeFile(w, entry("home/cfg/first", "file"), "first\n");
    await writeFile(w, entry("home/cfg/shadow", "file", { mode: 0o666 }), "owned\n");
    await w.finish();
    assert.equal(fingerprint(s.etc), before);
    assert.equal(existsSync(join(target, "home/cfg.moved/shadow")), true);
  } finally {
    raceHook.beforeOpen = undefined;
    s.done();
  }
});
