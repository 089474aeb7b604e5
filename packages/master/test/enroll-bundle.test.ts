/**
 * The enrollment bundle holds a node's private key. These tests play the local attacker on the
 * master's machine: a file planted at the bundle path (owned by them, or a symlink to where they
 * can collect it) and a reader racing `pullback enroll` while the bundle is being written.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assertKeyMatchesCertificate, verifyCertificate } from "@pullback/common/pki/index";
import { AGENT_CLI, MASTER_CLI } from "@pullback/testkit";
import { Testbed } from "./support/testbed.js";
import { requireTool } from "./support/tools.js";

const ATTACKER = "pullback-attacker";
let tb: Testbed;
let shared: string;
let attacker: { uid: number; gid: number };

function ensureAttackerUser(): { uid: number; gid: number } {
  if (spawnSync("id", ["-u", ATTACKER]).status !== 0) {
    const r = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cannot create the test user ${ATTACKER}: ${r.stderr}`);
  }
  const id = (flag: string) => Number(spawnSync("id", [flag, ATTACKER], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

function enroll(node: string, out: string, extra: string[] = []) {
  return tb.cli(["enroll", node, "--allow", "/srv", "--out", out, ...extra]);
}

before(async () => {
  assert.equal(process.getuid?.(), 0, "these tests create a second user and must run as root");
  requireTool("strace", "strace");
  attacker = ensureAttackerUser();
  tb = await Testbed.create();
  // Where the operator writes bundles; root's directory, but the attacker once owned a file in it.
  shared = join(tb.dir, "bundles");
  mkdirSync(shared, { mode: 0o755 });
});

after(async () => {
  await tb?.destroy();
});

test("a bundle path planted by another user is refused and the attacker's file is not written to", () => {
  const planted = join(shared, "web1.tgz");
  writeFileSync(planted, "attacker's file\n");
  chmodSync(planted, 0o644);
  chownSync(planted, attacker.uid, attacker.gid);
  const r = enroll("web1", planted);
  assert.equal(r.code, 2, `expected a usage error, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /already exists; it was left untouched: remove it, choose another --out, or pass --force/);
  assert.equal(readFileSync(planted, "utf8"), "attacker's file\n");
  const st = statSync(planted);
  assert.equal(st.uid, attacker.uid);
  assert.equal(st.mode & 0o777, 0o644);
});

test("a symlink planted at the bundle path is not followed: the key never lands where it points", () => {
  const loot = join(shared, "loot");
  mkdirSync(loot, { mode: 0o755 });
  chownSync(loot, attacker.uid, attacker.gid);
  const link = join(shared, "web2.tgz");
  symlinkSync(join(loot, "stolen.tgz"), link);
  const r = enroll("web2", link);
  assert.notEqual(r.code, 0, "enroll must refuse a symlink at the bundle path");
  assert.match(r.stderr, /already exists/);
  assert.deepEqual(readdirSync(loot), [], "nothing may be written through the symlink");
});

test("--force replaces a planted file by a new 0600 root-owned file, never writing into the old one", () => {
  const planted = join(shared, "web3.tgz");
  writeFileSync(planted, "attacker's file\n");
  chownSync(planted, attacker.uid, attacker.gid);
  // The attacker keeps a second name for their inode: writing into it would hand them the key.
  const keep = join(shared, "attacker-hardlink");
  linkSync(planted, keep);
  const r = enroll("web3", planted, ["--force"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(keep, "utf8"), "attacker's file\n");
  const st = statSync(planted);
  assert.equal(st.uid, 0);
  assert.equal(st.mode & 0o777, 0o600);
  assert.notEqual(st.ino, statSync(keep).ino);
  const list = spawnSync("tar", ["-tzf", planted], { encoding: "utf8" });
  assert.match(list.stdout, /pki\/agent\.key/);
  assert.deepEqual(readdirSync(shared).filter((f) => f.endsWith(".tmp")), [], "no temporary file left behind");
});

test("the bundle is 0600 from its first byte, even under umask 000 (every create of the path, as traced)", () => {
  const bundle = join(shared, "web4.tgz");
  const trace = join(tb.dir, "enroll.strace");
  const cmd = [
    "umask 000",
    `exec strace -f -qq -e trace=open,openat,creat -o '${trace}' '${process.execPath}' '${MASTER_CLI}' --home '${tb.home}' enroll web4 --allow /srv --out '${bundle}'`,
  ].join("; ");
  const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8", env: { ...process.env, DATABASE_URL: tb.db.url, PULLBACK_LOG_LEVEL: "warn" } });
  assert.equal(r.status, 0, r.stderr);
  const creates = readFileSync(trace, "utf8")
    .split("\n")
    .filter((l) => l.includes(`"${bundle}"`) && /O_CREAT|creat\(/.test(l));
  assert.ok(creates.length > 0, "the trace shows how the bundle was created");
  for (const l of creates) {
    assert.match(l, /O_EXCL/, `created without O_EXCL: ${l}`);
    assert.match(l, /, 0600\)/, `created with a mode other than 0600: ${l}`);
  }
  assert.equal(statSync(bundle).mode & 0o777, 0o600);
  assert.ok(existsSync(bundle));
});

test("online --csr: the master signs the node's own key and the bundle carries no private key", () => {
  const nodePki = join(tb.dir, "node-web5/pki");
  const keygen = spawnSync(process.execPath, [AGENT_CLI, "keygen", "--dir", nodePki, "--node", "web5"], { encoding: "utf8" });
  assert.equal(keygen.status, 0, keygen.stderr);
  const bundle = join(shared, "web5.tgz");
  assert.equal(enroll("web5", bundle, ["--csr", join(nodePki, "agent.csr")]).code, 0);
  const unpacked = join(tb.dir, "web5-unpacked");
  mkdirSync(unpacked);
  assert.equal(spawnSync("tar", ["-xzf", bundle, "-C", unpacked]).status, 0);
  assert.deepEqual(readdirSync(join(unpacked, "pki")).sort(), ["agent.crt", "ca.crt", "revoked.json"]);
  const certPem = readFileSync(join(unpacked, "pki/agent.crt"), "utf8");
  assertKeyMatchesCertificate(readFileSync(join(nodePki, "agent.key"), "utf8"), certPem, "agent certificate", "re-enroll");
  assert.equal(verifyCertificate(certPem, readFileSync(join(unpacked, "pki/ca.crt"), "utf8"), { role: "agent", nodeName: "web5" }).commonName, "web5");
  // A request made for another node is not signed under this name.
  const wrong = enroll("web6", join(shared, "web6.tgz"), ["--csr", join(nodePki, "agent.csr")]);
  assert.equal(wrong.code, 4);
  assert.match(wrong.stderr, /request is for "web5", not for node web6/);
  assert.equal(existsSync(join(shared, "web6.tgz")), false);
});
