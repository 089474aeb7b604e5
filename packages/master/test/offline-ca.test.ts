/**
 * Offline CA mode end to end, with real processes: the CA lives in its own directory (another
 * machine or removable media), the master holds only the CA certificate, its own key and the signed
 * revocation list, the node makes its own key, and a backup runs over mTLS with those certificates.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SnapshotRecord } from "@pullback/common";
import { Revocations, normalizeSerial, type TlsIdentity } from "@pullback/common/pki/index";
import { connectAgent } from "@pullback/common/rpc/index";
import { AGENT_CLI, AgentProcess, MASTER_CLI, createTestDatabase, freePort, type TestDatabase } from "@pullback/testkit";
import type { CliResult } from "./support/testbed.js";

let dir: string;
let db: TestDatabase;
let home: string;
let caDir: string;
let agentDir: string;
let agent: AgentProcess | null = null;

function run(cli: string, args: string[]): CliResult {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, DATABASE_URL: db.url, PULLBACK_LOG_LEVEL: "warn" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function master(args: string[]): CliResult {
  return run(MASTER_CLI, ["--home", home, ...args]);
}
function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function infoWith(port: number, id: TlsIdentity): Promise<string> {
  const client = connectAgent(`127.0.0.1:${port}`, "web1", id, { masterVersion: "stolen", infoDeadlineMs: 10_000 });
  try {
    return (await client.info()).nodeName;
  } finally {
    client.close();
  }
}

/** Every file under `root`, recursively. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

async function startAgent(): Promise<void> {
  agent = new AgentProcess(join(agentDir, "agent.yaml"));
  await agent.start();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pullback-offline-ca-"));
  db = await createTestDatabase();
  home = join(dir, "master");
  caDir = join(dir, "removable-media/ca");
  agentDir = join(dir, "agent-web1");
});

after(async () => {
  await agent?.stop("SIGKILL");
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test("an offline-CA master enrolls a node by CSR and backs it up over mTLS; its home holds no CA key", async () => {
  // The CA, away from the master.
  ok(run(MASTER_CLI, ["ca", "init", "--dir", caDir]), "ca init");
  assert.equal(statSync(join(caDir, "ca.key")).mode & 0o777, 0o600);

  // The master: CA certificate and list only; its own key stays in its home, the CA signs its CSR.
  const init = JSON.parse(ok(master(["init", "--offline-ca", "--ca-cert", join(caDir, "ca.crt"), "--revocations", join(caDir, "revoked.json"), "--json"]), "init --offline-ca")) as { mode: string; pendingCsr: string };
  assert.equal(init.mode, "offline");
  assert.equal(init.pendingCsr, join(home, "pki/master.csr"));
  ok(run(MASTER_CLI, ["ca", "sign", "--dir", caDir, "--master", init.pendingCsr, "--out", join(dir, "master.crt")]), "ca sign --master");
  ok(master(["init", "--master-cert", join(dir, "master.crt")]), "init --master-cert");

  // The node makes its key; the master cannot sign it and says how the offline CA does.
  const port = await freePort();
  ok(run(AGENT_CLI, ["keygen", "--dir", join(agentDir, "pki"), "--node", "web1"]), "pullback-agent keygen");
  const nodeKey = readFileSync(join(agentDir, "pki/agent.key"), "utf8");
  assert.equal(statSync(join(agentDir, "pki/agent.key")).mode & 0o777, 0o600);
  const data = join(dir, "data");
  mkdirSync(join(data, "sub"), { recursive: true });
  writeFileSync(join(data, "a.txt"), "offline CA, online backups\n");
  writeFileSync(join(data, "sub/b.bin"), randomBytes(300_000));
  const enrollArgs = ["--allow", data, "--listen", `127.0.0.1:${port}`, "--address", `127.0.0.1:${port}`, "--out", join(dir, "web1.tgz")];
  const refused = master(["enroll", "web1", "--csr", join(agentDir, "pki/agent.csr"), ...enrollArgs]);
  assert.equal(refused.code, 4, refused.stderr);
  assert.match(refused.stderr, /no CA key \(offline CA mode\).*\n.*pullback-agent keygen.*\n.*pullback ca sign --dir CA_DIR --node web1/);

  // A CSR signed for the wrong node is refused by the CA.
  const wrong = run(MASTER_CLI, ["ca", "sign", "--dir", caDir, "--node", "web2", join(agentDir, "pki/agent.csr"), "--out", join(dir, "wrong.crt")]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /request is for "web1", not for node web2/);

  ok(run(MASTER_CLI, ["ca", "sign", "--dir", caDir, "--node", "web1", join(agentDir, "pki/agent.csr"), "--out", join(dir, "web1.crt")]), "ca sign --node web1");
  ok(master(["enroll", "web1", "--cert", join(dir, "web1.crt"), ...enrollArgs]), "enroll --cert");
  const listing = spawnSync("tar", ["-tzf", join(dir, "web1.tgz")], { encoding: "utf8" }).stdout;
  assert.match(listing, /pki\/agent\.crt/);
  assert.doesNotMatch(listing, /agent\.key/, "the node's key never left the node");
  assert.equal(spawnSync("tar", ["-xzf", join(dir, "web1.tgz"), "-C", agentDir]).status, 0);
  assert.equal(readFileSync(join(agentDir, "pki/agent.key"), "utf8"), nodeKey, "unpacking the bundle kept the node's own key");
  await startAgent();

  ok(master(["source", "add", "web1", "files", "--path", data]), "source add");
  const backup = JSON.parse(ok(master(["backup", "web1", "files", "--json"]), "backup")) as { status: string; snapshot: SnapshotRecord };
  assert.equal(backup.status, "succeeded");
  assert.ok(backup.snapshot.stats.bytesSent >= 300_000, `sent ${backup.snapshot.stats.bytesSent}`);

  // No file in the master's home holds the CA's private key (in any PEM form).
  const caPublic = new X509Certificate(readFileSync(join(caDir, "ca.crt"))).publicKey.export({ type: "spki", format: "der" });
  const keyFiles = filesUnder(home).filter((f) => readFileSync(f).includes("PRIVATE KEY"));
  assert.ok(keyFiles.includes(join(home, "pki/master.key")), "the scan sees the keys that are there");
  for (const f of keyFiles) {
    const pub = createPublicKey(createPrivateKey(readFileSync(f, "utf8"))).export({ type: "spki", format: "der" });
    assert.ok(!pub.equals(caPublic), `${f} is the CA's private key`);
  }
  const caKey = readFileSync(join(caDir, "ca.key"));
  for (const f of filesUnder(home)) assert.ok(!readFileSync(f).includes(caKey.subarray(40, 120)), `${f} contains CA key material`);

  // Renewal in offline mode: the master makes its next key, the CA signs it, and the replaced
  // certificate is revoked at the CA; after one contact the agent refuses a thief holding the old one.
  const initialList = readFileSync(join(caDir, "revoked.json"), "utf8");
  const pki = join(home, "pki");
  const caPem = readFileSync(join(pki, "ca.crt"), "utf8");
  const stolen: TlsIdentity = { caPem, certPem: readFileSync(join(pki, "master.crt"), "utf8"), keyPem: readFileSync(join(pki, "master.key"), "utf8"), revocations: new Revocations(caPem) };
  assert.equal(await infoWith(port, stolen), "web1");
  const renew = JSON.parse(ok(master(["init", "--renew-master-cert", "--json"]), "init --renew-master-cert")) as { pendingCsr: string };
  assert.equal(renew.pendingCsr, join(pki, "master-next.csr"));
  ok(run(MASTER_CLI, ["ca", "sign", "--dir", caDir, "--master", renew.pendingCsr, "--out", join(dir, "master2.crt")]), "ca sign --master (renewal)");
  const installed = JSON.parse(ok(master(["init", "--master-cert", join(dir, "master2.crt"), "--json"]), "init --master-cert (renewal)")) as { installed: { replaced: string } };
  assert.equal(installed.installed.replaced, normalizeSerial(new X509Certificate(stolen.certPem).serialNumber));
  ok(run(MASTER_CLI, ["ca", "revoke", "--dir", caDir, installed.installed.replaced]), "ca revoke old master");
  ok(run(MASTER_CLI, ["ca", "crl", "--dir", caDir, "--out", join(dir, "crl-master.json")]), "ca crl");
  ok(master(["revocations", "import", join(dir, "crl-master.json")]), "revocations import");
  ok(master(["node", "info", "web1"]), "node info with the renewed certificate");
  await assert.rejects(infoWith(port, stolen), /revoked/);

  // Revocation flows from the offline CA through the master to the node: the master then refuses
  // to talk to the revoked node.
  ok(run(MASTER_CLI, ["ca", "revoke", "--dir", caDir, "web1"]), "ca revoke");
  ok(run(MASTER_CLI, ["ca", "crl", "--dir", caDir, "--out", join(dir, "crl.json")]), "ca crl");
  ok(master(["revocations", "import", join(dir, "crl.json")]), "revocations import");
  const after = master(["node", "info", "web1"]);
  assert.notEqual(after.code, 0);
  assert.match(after.stderr, /revoked/);
  // An older list cannot roll the revocation back.
  writeFileSync(join(dir, "old-crl.json"), initialList);
  const rollback = master(["revocations", "import", join(dir, "old-crl.json")]);
  assert.equal(rollback.code, 4, rollback.stderr);
  assert.match(rollback.stderr, /older than the one the master holds/);
});

test("an online master becomes offline by moving its CA directory's key away; it then cannot sign", () => {
  const home2 = join(dir, "master2");
  const moved = join(dir, "removable-media/ca2");
  ok(run(MASTER_CLI, ["--home", home2, "init"]), "init (online)");
  mkdirSync(moved, { recursive: true, mode: 0o700 });
  // The CA directory layout is the same on both sides: move the key, copy the rest.
  for (const f of ["ca.crt", "revoked.json"]) writeFileSync(join(moved, f), readFileSync(join(home2, "pki", f)));
  renameSync(join(home2, "pki/ca.key"), join(moved, "ca.key"));
  const init = JSON.parse(ok(run(MASTER_CLI, ["--home", home2, "init", "--json"]), "init (now offline)")) as { mode: string; createdCa: boolean };
  assert.equal(init.mode, "offline");
  assert.equal(init.createdCa, false, "init must never make a new CA over the existing certificate");
  const enroll = run(MASTER_CLI, ["--home", home2, "enroll", "web9", "--allow", "/srv", "--out", join(dir, "web9.tgz")]);
  assert.equal(enroll.code, 4);
  assert.match(enroll.stderr, /offline CA mode/);
  const revoke = run(MASTER_CLI, ["--home", home2, "revoke", "0123456789abcdef"]);
  assert.equal(revoke.code, 4);
  assert.match(revoke.stderr, /pullback ca revoke --dir/);
  ok(run(MASTER_CLI, ["ca", "revoke", "--dir", moved, "0123456789abcdef"]), "ca revoke on the moved CA");
});
