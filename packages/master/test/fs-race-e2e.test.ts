/**
 * Local-user races and special files through real agents: the agent is paused at its test hook
 * (PULLBACK_TEST_PAUSE_AT) while the test swaps a directory for a symlink to a copy of "/etc" that
 * lies outside the agent's allowlists; and setuid files and device nodes restored onto another node.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chunkId, initCodecs, type SnapshotRecord } from "@pullback/common";
import { readManifest, Store } from "../src/index.js";
import { Testbed } from "./support/testbed.js";

const LOCAL_USER = 12345;

interface BackupOutput {
  status: string;
  snapshot: SnapshotRecord;
}
interface RestoreOutput {
  errors: string[];
  special: string[];
}

let tb: Testbed;
let data: string;
let restores: string;
let etc: string;
let secret: Buffer;

before(async () => {
  tb = await Testbed.create();
  data = join(tb.dir, "data");
  restores = join(tb.dir, "restores");
  // The stand-in for /etc: outside every allowlist, with a secret and recognisable metadata.
  etc = join(tb.dir, "outside-etc");
  mkdirSync(etc);
  secret = randomBytes(4000);
  writeFileSync(join(etc, "shadow"), secret, { mode: 0o640 });
  utimesSync(join(etc, "shadow"), 1_000_000, 1_000_000);
  utimesSync(etc, 1_000_000, 1_000_000);
  mkdirSync(join(data, "tree/home/cfg"), { recursive: true });
  writeFileSync(join(data, "tree/home/cfg/first"), "first\n");
  writeFileSync(join(data, "tree/home/cfg/shadow"), "restored content\n");
  mkdirSync(restores);
  await tb.addAgent("web1", [data], [restores]);
  await tb.addAgent("web2", [data], [restores]);
  tb.ok(["source", "add", "web1", "tree", "--path", join(data, "tree")]);
});

after(async () => {
  await tb?.destroy();
});

function fingerprint(dir: string): string {
  return ["", ...readdirSync(dir)]
    .map((name) => {
      const st = lstatSync(join(dir, name));
      const sum = st.isFile() ? createHash("sha256").update(readFileSync(join(dir, name))).digest("hex") : "";
      return `${name} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${sum}`;
    })
    .join("\n");
}

/** Restarts the agent so it pauses before opening `rel`; returns the handshake directory. */
async function pauseAgentAt(node: string, rel: string | null): Promise<string> {
  const dir = join(tb.dir, `pause-${node}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir);
  await tb.stopAgent(node);
  if (rel) {
    process.env.PULLBACK_TEST_PAUSE_AT = rel;
    process.env.PULLBACK_TEST_PAUSE_DIR = dir;
  }
  try {
    await tb.startAgent(node);
  } finally {
    delete process.env.PULLBACK_TEST_PAUSE_AT;
    delete process.env.PULLBACK_TEST_PAUSE_DIR;
  }
  return dir;
}

/** Runs the CLI while the agent waits at its pause point, swapping `swap` for a symlink to the outside there. */
async function runWithSwap(args: string[], pauseDir: string, swap: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = tb.cliAsync(args);
  let stdout = "";
  let stderr = "";
  proc.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((r) => proc.once("exit", (c) => r(c ?? -1)));
  for (let i = 0; !existsSync(join(pauseDir, "paused")); i++) {
    if (i > 600 || proc.exitCode !== null) throw new Error(`the agent never paused: ${stderr}${stdout}`);
    await sleep(50);
  }
  renameSync(swap, `${swap}.moved`);
  symlinkSync(etc, swap);
  writeFileSync(join(pauseDir, "resume"), "");
  return { code: await exited, stdout, stderr };
}

test("a restore paused mid-way while a local user swaps a directory for a symlink writes nothing outside", async () => {
  await pauseAgentAt("web1", null);
  const b = tb.json<BackupOutput>(["backup", "web1", "tree", "--level", "full"]);
  assert.equal(b.status, "succeeded");
  const target = join(restores, "race");
  // The local user owns "home" in the target (say, their home directory on the node).
  mkdirSync(join(target, "home"), { recursive: true });
  chownSync(join(target, "home"), LOCAL_USER, LOCAL_USER);
  const before = fingerprint(etc);
  const pause = await pauseAgentAt("web1", "home/cfg/shadow");
  const r = await runWithSwap(["restore", b.snapshot.id, "--node", "web1", "--target", target, "--overwrite", "--json"], pause, join(target, "home/cfg"));
  assert.ok(r.code === 0 || r.code === 3, `restore exited ${r.code}: ${r.stderr}`);
  assert.equal(fingerprint(etc), before, "nothing outside the target was created, overwritten, chmodded or chowned");
  assert.equal(readFileSync(join(target, "home/cfg.moved/shadow"), "utf8"), "restored content\n");
});

test("a backup paused before a directory while it is swapped for a symlink to a copy outside the allowlist sends none of it", async () => {
  const pause = await pauseAgentAt("web1", "home");
  const r = await runWithSwap(["backup", "web1", "tree", "--level", "full", "--json"], pause, join(data, "tree/home"));
  await pauseAgentAt("web1", null);
  renameSync(join(data, "tree/home"), join(tb.dir, "swapped-link"));
  renameSync(join(data, "tree/home.moved"), join(data, "tree/home"));
  assert.ok(r.code === 0 || r.code === 3, `backup exited ${r.code}: ${r.stderr}`);
  const b = JSON.parse(r.stdout) as BackupOutput;
  await initCodecs();
  const store = await Store.open(join(tb.home, "store"));
  const paths: string[] = [];
  for await (const e of readManifest(store.chunks, b.snapshot.manifest)) paths.push(e.path);
  assert.ok(paths.includes("home"), "the directory's own entry was taken before the swap");
  assert.deepEqual(paths.filter((p) => p.startsWith("home/")), [], "nothing under the swapped directory is in the snapshot");
  assert.equal(await store.chunks.has(chunkId(secret)), false, "the secret's chunk is not in the store");
  assert.ok(
    b.snapshot.warnings.some((w) => w.includes("home") && w.includes("changed during backup, skipped")),
    `the swap is reported: ${b.snapshot.warnings.join("; ")}`,
  );
});

test("setuid/setgid bits and device nodes: stripped and skipped onto another node, kept onto the same node or with --keep-special", async () => {
  await pauseAgentAt("web1", null);
  const src = join(data, "special");
  mkdirSync(join(src, "shared"), { recursive: true });
  chmodSync(join(src, "shared"), 0o2775);
  writeFileSync(join(src, "suid-shell"), "#!/bin/sh\n", { mode: 0o755 });
  chmodSync(join(src, "suid-shell"), 0o4755);
  writeFileSync(join(src, "sgid-tool"), "#!/bin/sh\n", { mode: 0o755 });
  chmodSync(join(src, "sgid-tool"), 0o2755);
  // A character device as the snapshot's node could plant it: same numbers as /dev/null.
  const mk = spawnSync("mknod", ["-m", "666", join(src, "null-dev"), "c", "1", "3"], { encoding: "utf8" });
  assert.equal(mk.status, 0, mk.stderr);
  tb.ok(["source", "add", "web1", "special", "--path", src]);
  const b = tb.json<BackupOutput>(["backup", "web1", "special", "--level", "full"]);
  assert.equal(b.status, "succeeded");
  const id = b.snapshot.id;
  const mode = (p: string) => statSync(p).mode & 0o7777;

  const other = join(restores, "special-web2");
  const stripped = tb.json<RestoreOutput>(["restore", id, "--node", "web2", "--target", other]);
  assert.deepEqual(stripped.errors, []);
  assert.equal(mode(join(other, "suid-shell")), 0o755);
  assert.equal(mode(join(other, "sgid-tool")), 0o755);
  assert.equal(mode(join(other, "shared")), 0o2775, "a setgid directory grants nothing and is kept");
  assert.equal(existsSync(join(other, "null-dev")), false, "the device node is not created");
  assert.deepEqual(stripped.special.map((l) => l.slice(0, l.indexOf(":"))).sort(), ["null-dev", "sgid-tool", "suid-shell"]);
  assert.match(stripped.special.join("\n"), /null-dev: character device not restored: .*--keep-special/);
  const text = tb.cli(["restore", id, "--node", "web2", "--target", join(restores, "special-web2-text")]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /3 setuid\/setgid file\(s\) or device\(s\) not restored as in the snapshot/);

  const kept = join(restores, "special-web2-kept");
  const asked = tb.json<RestoreOutput>(["restore", id, "--node", "web2", "--target", kept, "--keep-special"]);
  assert.deepEqual([asked.errors, asked.special], [[], []]);
  assert.equal(mode(join(kept, "suid-shell")), 0o4755);
  assert.equal(mode(join(kept, "sgid-tool")), 0o2755);
  assert.equal(statSync(join(kept, "null-dev")).isCharacterDevice(), true);
  assert.equal(statSync(join(kept, "null-dev")).rdev, statSync(join(src, "null-dev")).rdev);

  const home = join(restores, "special-web1");
  const same = tb.json<RestoreOutput>(["restore", id, "--node", "web1", "--target", home]);
  assert.deepEqual([same.errors, same.special], [[], []]);
  assert.equal(mode(join(home, "suid-shell")), 0o4755);
  assert.equal(statSync(join(home, "null-dev")).isCharacterDevice(), true);

  // Onto the master's own machine (no --node), which is not web1: the master applies the same rule.
  const local = join(tb.dir, "special-local");
  const onMaster = tb.json<RestoreOutput>(["restore", id, "--target", local]);
  assert.deepEqual(onMaster.errors, []);
  assert.equal(onMaster.special.length, 3);
  assert.equal(mode(join(local, "suid-shell")), 0o755);
  assert.equal(existsSync(join(local, "null-dev")), false);
});
