import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeExclude, walkTree } from "../src/sources/tree-walker.js";

test("exclude globs follow tar: bare names match any component, paths match from the root", () => {
  const ex = makeExclude(["*.tmp", "node_modules", "var/cache/**", "/logs/*.log"]);
  assert.equal(ex("a/b/c.tmp"), true);
  assert.equal(ex("c.tmp"), true);
  assert.equal(ex("src/node_modules"), true);
  assert.equal(ex("var/cache/apt/x"), true);
  assert.equal(ex("logs/a.log"), true);
  assert.equal(ex("deep/logs/a.log"), false, "a pattern with / is anchored at the root");
  assert.equal(ex("var/cachex"), false);
  assert.equal(ex("a/b/c.tmpx"), false);
  assert.equal(ex(".hidden.tmp"), true, "dotfiles are matched too");
});

test("the walk is sorted, parents first, never follows symlinks, and skips excluded subtrees", async () => {
  const d = mkdtempSync(join(tmpdir(), "pullback-walk-"));
  try {
    mkdirSync(join(d, "b/node_modules/pkg"), { recursive: true });
    mkdirSync(join(d, "a"));
    writeFileSync(join(d, "b/node_modules/pkg/index.js"), "");
    writeFileSync(join(d, "b/keep.txt"), "");
    writeFileSync(join(d, "a/skip.tmp"), "");
    writeFileSync(join(d, "a/z"), "");
    symlinkSync("/etc", join(d, "a/etc-link"));
    const seen: string[] = [];
    for await (const item of walkTree(d, makeExclude(["*.tmp", "node_modules"]), () => undefined)) seen.push(item.path);
    assert.deepEqual(seen, ["", "a", "a/etc-link", "a/z", "b", "b/keep.txt"]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
