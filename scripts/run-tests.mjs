#!/usr/bin/env node
// Runs every compiled test file with Node's own test runner, so its summary lines close the output.
// Usage: node scripts/run-tests.mjs [substring ...]  (only test files whose path contains one of them)
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
// Every workspace under packages/ (product packages, testkit, integration) is searched; a compiled
// test whose .ts source is gone (moved to another workspace) is stale output and is not run.
for (const pkg of readdirSync(join(root, "packages"))) {
  const dir = join(root, "packages", pkg, "dist", "test");
  try {
    statSync(dir);
  } catch {
    continue;
  }
  for (const f of readdirSync(dir, { recursive: true })) {
    const p = join(dir, String(f));
    if (!p.endsWith(".test.js") || !existsSync(join(root, "packages", pkg, "test", String(f).replace(/\.js$/, ".ts")))) continue;
    if (filters.length === 0 || filters.some((s) => p.includes(s))) files.push(p);
  }
}
if (files.length === 0) {
  console.error("no test files found: run `npm run build` first");
  process.exit(1);
}
files.sort();
// Tests share one PostgreSQL server and the machine's two cores: run files one at a time.
// A test file that leaves a handle open never exits and would stall CI until its own limit: the
// per-test timeout catches a stuck test, the watchdog a stuck file, and both fail loudly.
const limitMinutes = Number(process.env.PULLBACK_TEST_LIMIT_MINUTES ?? 45);
const child = spawn(
  process.execPath,
  ["--test", "--test-concurrency=1", "--test-timeout=600000", "--test-reporter=spec", ...files],
  { stdio: "inherit", cwd: root },
);
const watchdog = setTimeout(() => {
  console.error(`run-tests: the suite ran longer than ${limitMinutes} minutes; a test file is probably holding a handle open (set PULLBACK_TEST_LIMIT_MINUTES to change the limit)`);
  child.kill("SIGKILL");
}, limitMinutes * 60_000);
child.on("exit", (code, signal) => {
  clearTimeout(watchdog);
  process.exit(code ?? (signal ? 1 : 0));
});
