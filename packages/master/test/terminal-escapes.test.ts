/**
 * File names are chosen by whoever controls a node. Named with terminal escape sequences, they must
 * reach the operator's terminal as visible text, not as commands: backed up through a real agent,
 * listed and restored through the real CLI, no raw control byte may be printed.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Testbed } from "./support/testbed.js";

/** What a terminal would act on: C0 but newline, DEL, C1, bidi controls. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

const NAMES = {
  title: "title-\x1b]0;pwned\x07.txt", // OSC 0: sets the window title
  clear: "clear-\x1b[2J\x1b[H.txt", // CSI: wipes the screen
  clipboard: "clip-\x1b]52;c;cm0gLXJmIH4K\x07.txt", // OSC 52: writes the clipboard
  c1: "c1-\u009b31m.txt", // C1 CSI, one code point
  bidi: "invoice-\u202etxt.exe", // reads as invoice-exe.txt
  newline: "nl-\nforged line.txt", // would forge a line of the report
};

let tb: Testbed;
let data: string;
let restores: string;
let snapshotId: string;

function assertNoRawControl(text: string, what: string): void {
  const m = RAW_CONTROL.exec(text);
  assert.equal(m, null, `${what} printed a raw control character U+${m?.[0].codePointAt(0)!.toString(16).padStart(4, "0")}: ${JSON.stringify(text)}`);
}

before(async () => {
  tb = await Testbed.create();
  data = join(tb.dir, "data");
  restores = join(tb.dir, "restores");
  mkdirSync(data);
  mkdirSync(restores);
  for (const name of Object.values(NAMES)) writeFileSync(join(data, name), "x\n");
  await tb.addAgent("web1", [data], [restores]);
  tb.ok(["source", "add", "web1", "files", "--path", data]);
});

after(async () => {
  await tb?.destroy();
});

test("backup and ls of files named with escape sequences print them as visible escapes", () => {
  const b = tb.cli(["backup", "web1", "files", "--level", "full"]);
  assert.equal(b.code, 0, b.stderr);
  assertNoRawControl(b.stdout + b.stderr, "backup");
  snapshotId = /snapshot (\S+) of web1\/files/.exec(b.stdout)![1]!;

  const ls = tb.cli(["ls", snapshotId]);
  assert.equal(ls.code, 0, ls.stderr);
  assertNoRawControl(ls.stdout + ls.stderr, "ls");
  assert.ok(ls.stdout.includes("title-\\x1b]0;pwned\\x07.txt"), ls.stdout);
  assert.ok(ls.stdout.includes("clip-\\x1b]52;c;cm0gLXJmIH4K\\x07.txt"), ls.stdout);
  assert.ok(ls.stdout.includes("c1-\\x9b31m.txt"), ls.stdout);
  assert.ok(ls.stdout.includes("invoice-\\u202etxt.exe"), ls.stdout);
  // The name's newline is shown, not obeyed: one line per entry (the root and six files).
  assert.ok(ls.stdout.includes("nl-\\x0aforged line.txt"), ls.stdout);
  assert.equal(ls.stdout.trimEnd().split("\n").length, 1 + Object.keys(NAMES).length, ls.stdout);

  // --json keeps the names exact: JSON escapes them, a reader gets the real bytes back.
  const listed = tb.json<{ path: string }[]>(["ls", snapshotId]).map((e) => e.path);
  for (const name of Object.values(NAMES)) assert.ok(listed.includes(name), `--json lists ${JSON.stringify(name)}`);
});

test("a restore through the agent that reports those names (files already there) prints no raw control byte", () => {
  const target = join(restores, "again");
  const first = tb.cli(["restore", snapshotId, "--node", "web1", "--target", target]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(readdirSync(target).sort(), Object.values(NAMES).sort(), "the files are restored under their real names");
  // Without --overwrite every existing file is refused, and the refusal names it.
  const second = tb.cli(["restore", snapshotId, "--node", "web1", "--target", target]);
  assert.equal(second.code, 3, second.stderr + second.stdout);
  assertNoRawControl(second.stdout + second.stderr, "restore");
  assert.ok(second.stdout.includes("title-\\x1b]0;pwned\\x07.txt"), second.stdout);
});
