#!/usr/bin/env node
// The README's quick start: a master with its embedded PostgreSQL enrolls this machine as a node,
// runs a real agent on loopback, pulls a sample tree from it over mTLS gRPC, lists the snapshot,
// restores it through the agent and shows that the restore matches. Every step is a real command,
// printed before it runs.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, ftruncateSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const started = performance.now();
const root = resolve(new URL("..", import.meta.url).pathname);
const work = join(root, ".pullback", "quickstart");
const home = join(work, "master");
const sample = join(work, "sample");
const restored = join(work, "restored");
const agentDir = join(work, "agent");
const agentLog = join(work, "agent.log");
const bundle = join(work, "this-host.agent-bundle.tar.gz");
const cli = join(root, "packages/master/dist/src/cli.js");
const agentCli = join(root, "packages/agent/dist/src/cli.js");
const NAMES = new Map([[cli, "pullback"], [agentCli, "pullback-agent"]]);
let agent;

function show(cmd, args, title) {
  console.log(`\n$ ${[cmd === process.execPath ? NAMES.get(args[0]) : cmd, ...(cmd === process.execPath ? args.slice(1) : args)].join(" ")}   # ${title}`);
}

function step(title, cmd, args) {
  show(cmd, args, title);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  process.stdout.write(r.stdout ?? "");
  if (r.status !== 0) fail(`step "${title}" failed (${r.error ? r.error.message : `exit ${r.status}`})`);
  return r.stdout;
}

function fail(message) {
  console.error(`quickstart: ${message}`);
  if (agent && existsSync(agentLog)) console.error(`quickstart: agent log (${agentLog}):\n${readFileSync(agentLog, "utf8").split("\n").slice(-10).join("\n")}`);
  process.exit(1);
}

const pullback = (title, ...args) => step(title, process.execPath, [cli, "--home", home, ...args]);

function freePort() {
  return new Promise((ok, ko) => {
    const srv = createServer().once("error", ko);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function makeSample() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(sample, "docs/nested"), { recursive: true });
  mkdirSync(join(sample, "empty-dir"));
  mkdirSync(restored);
  writeFileSync(join(sample, "docs/readme.txt"), "Pullback quick start sample\n".repeat(1000));
  writeFileSync(join(sample, "docs/nested/ünïcödé name.txt"), "unicode\n");
  writeFileSync(join(sample, "random.bin"), randomBytes(8 * 1024 * 1024));
  const fd = openSync(join(sample, "sparse.img"), "w");
  ftruncateSync(fd, 256 * 1024 * 1024);
  writeSync(fd, randomBytes(1024 * 1024), 0, 1024 * 1024, 128 * 1024 * 1024);
  closeSync(fd);
  symlinkSync("docs/readme.txt", join(sample, "link-to-readme"));
  linkSync(join(sample, "docs/readme.txt"), join(sample, "hardlink-to-readme"));
}

/** Starts the agent in the background; its JSON log goes to a file so it cannot block on a full pipe. */
async function startAgent(config) {
  show(process.execPath, [agentCli, "serve", "--config", config, "&"], "run the agent (in the background, log in agent.log)");
  const log = openSync(agentLog, "w");
  agent = spawn(process.execPath, [agentCli, "serve", "--config", config], { stdio: ["ignore", log, log] });
  closeSync(log);
  for (const deadline = Date.now() + 15000; Date.now() < deadline; await sleep(100)) {
    if (agent.exitCode !== null) fail(`the agent exited with code ${agent.exitCode} before listening`);
    if (readFileSync(agentLog, "utf8").includes('"agent listening"')) return;
  }
  fail("the agent did not start listening within 15 s");
}

async function stopAgent() {
  if (!agent || agent.exitCode !== null || agent.signalCode !== null) return;
  const exited = new Promise((ok) => agent.once("exit", ok));
  agent.kill("SIGTERM");
  await Promise.race([exited, sleep(5000).then(() => agent.kill("SIGKILL"))]);
}

// Whatever ends this script (a failed step, an exception, Ctrl-C), the agent must not outlive it.
process.on("exit", () => agent?.exitCode === null && agent.signalCode === null && agent.kill("SIGTERM"));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

// Fail before the 20 s of work, not after it, when a tool the steps use is missing.
for (const [tool, pkg] of [["tar", "tar"], ["rsync", "rsync"], ["du", "coreutils"]]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) fail(`${tool} is required: apt-get install ${pkg}`);
}
makeSample();
const port = await freePort();
const config = join(agentDir, "agent.yaml");
pullback("create the master home, private CA, store and embedded catalog", "init");
pullback("issue this machine's certificate and agent bundle, and register it as a node", "enroll", "this-host", "--allow", sample, "--restore-allow", restored,
  "--listen", `127.0.0.1:${port}`, "--address", `127.0.0.1:${port}`, "--out", bundle);
mkdirSync(agentDir);
step("unpack the bundle where the agent will run (on a real node: deploy/install-agent.sh)", "tar", ["-xzf", bundle, "-C", agentDir]);
step("validate the agent's config and certificates", process.execPath, [agentCli, "check", "--config", config]);
await startAgent(config);
pullback("the master dials the agent over mTLS", "node", "info", "this-host");
pullback("define a file-tree source on the node", "source", "add", "this-host", "sample", "--type", "fs", "--path", sample);
pullback("first backup (runs as full)", "backup", "this-host", "sample");
pullback("second backup: nothing changed, nothing read", "backup", "this-host", "sample", "--level", "incremental");
pullback("list snapshots", "snapshots");
const list = spawnSync(process.execPath, [cli, "--home", home, "snapshots", "--json"], { encoding: "utf8" });
const id = JSON.parse(list.stdout)[0].id;
pullback("browse the newest snapshot", "ls", id);
pullback("restore it through the agent into another directory", "restore", id, "--node", "this-host", "--target", restored);
const diff = step("compare original and restore (rsync prints nothing when they match)", "rsync", ["-aHAX", "--checksum", "--dry-run", "--itemize-changes", `${sample}/`, `${restored}/`]);
step("sparse file stays sparse", "du", ["-h", join(sample, "sparse.img"), join(restored, "sparse.img")]);
if (diff.trim() !== "") fail("the restored tree differs from the original");
console.log("\n# stop the agent");
await stopAgent();
const secs = ((performance.now() - started) / 1000).toFixed(1);
console.log(`\nquickstart: OK in ${secs} s — snapshot ${id} pulled from a real agent over mTLS and restored through it, byte-for-byte and metadata-for-metadata. Master home: ${home}`);
