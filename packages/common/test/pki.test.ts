import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync, readFileSync, statSync, symlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";
import {
  PkiError,
  Revocations,
  assertKeyMatchesCertificate,
  assertNodeName,
  createCa,
  createCsr,
  generateRsaKeyPair,
  readCsr,
  signAgentKey,
  signMasterKey,
  writeKeyRequest,
  issueAgentCertificate,
  issueMasterCertificate,
  loadRevocations,
  loadTlsIdentity,
  readPemFile,
  roleOf,
  signRevocationList,
  verifyCertificate,
  verifyRevocationList,
} from "../src/pki/index.js";

const ca = await createCa();
const otherCa = await createCa();
const master = await issueMasterCertificate(ca);
const web1 = await issueAgentCertificate(ca, "web1");

function pkiError(code: string, includes?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof PkiError, `expected PkiError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (includes) assert.match(e.message, includes);
    return true;
  };
}

test("the CA is a self-signed CA that can only sign", () => {
  const c = forge.pki.certificateFromPem(ca.certPem);
  assert.ok(c.verify(c), "self-signed");
  const bc = c.getExtension("basicConstraints") as { cA: boolean; critical: boolean };
  assert.equal(bc.cA, true);
  assert.equal(bc.critical, true);
  const ku = c.getExtension("keyUsage") as { keyCertSign: boolean; cRLSign: boolean; digitalSignature?: boolean };
  assert.equal(ku.keyCertSign, true);
  assert.equal(ku.cRLSign, true);
  assert.ok(!ku.digitalSignature);
  assert.notEqual(ca.certPem, otherCa.certPem);
});

test("the master certificate is clientAuth only, with role master", () => {
  const x = new X509Certificate(master.certPem);
  assert.equal(roleOf(x.subjectAltName), "master");
  assert.ok(x.checkIssued(new X509Certificate(ca.certPem)));
  assert.deepEqual(x.keyUsage, ["1.3.6.1.5.5.7.3.2"]);
  assert.match(x.subject, /OU=master/);
  const info = verifyCertificate(master.certPem, ca.certPem, { role: "master" });
  assert.equal(info.role, "master");
});

test("an agent certificate names its node in CN and DNS SAN, serverAuth only", () => {
  const x = new X509Certificate(web1.certPem);
  assert.match(x.subject, /CN=web1/);
  assert.equal(x.subjectAltName, "DNS:web1, URI:pullback:role:agent");
  assert.deepEqual(x.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
  const info = verifyCertificate(web1.certPem, ca.certPem, { role: "agent", nodeName: "web1" });
  assert.deepEqual(info.dnsNames, ["web1"]);
  assert.match(info.serial, /^[0-9a-f]{32}$/);
});

test("verification names the problem and the remedy", async () => {
  const foreign = await issueAgentCertificate(otherCa, "web1");
  assert.throws(() => verifyCertificate(foreign.certPem, ca.certPem, { role: "agent", nodeName: "web1" }), pkiError("wrong-ca", /pullback enroll web1/));
  const day = 86_400_000;
  const expired = await issueAgentCertificate(ca, "web1", { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
  assert.throws(() => verifyCertificate(expired.certPem, ca.certPem, { role: "agent", nodeName: "web1" }), pkiError("expired", /expired on .*re-enroll the node with `pullback enroll web1`/));
  const future = await issueAgentCertificate(ca, "web1", { notBefore: new Date(Date.now() + day) });
  assert.throws(() => verifyCertificate(future.certPem, ca.certPem, { role: "agent", nodeName: "web1" }), pkiError("not-yet-valid", /clock/));
  assert.throws(() => verifyCertificate(web1.certPem, ca.certPem, { role: "master" }), pkiError("wrong-role", /role agent, expected master/));
  assert.throws(() => verifyCertificate(web1.certPem, ca.certPem, { role: "agent", nodeName: "web2" }), pkiError("wrong-name", /names web1, not web2/));
  const rev = new Revocations(ca.certPem);
  rev.adopt(signRevocationList(ca, [new X509Certificate(web1.certPem).serialNumber]));
  assert.throws(() => verifyCertificate(web1.certPem, ca.certPem, { role: "agent", nodeName: "web1", revocations: rev }), pkiError("revoked"));
  assert.throws(() => verifyCertificate("hello", ca.certPem, { role: "master" }), pkiError("not-pem"));
});

test("PEM files: missing, not PEM, key mismatch, and a good identity", () => {
  const dir = mkdtempSync(join(tmpdir(), "pki-test-"));
  try {
    assert.throws(() => readPemFile(join(dir, "nope.pem"), "agent certificate", "re-enroll"), pkiError("missing-file", /agent certificate not found at .*nope\.pem: re-enroll/));
    writeFileSync(join(dir, "junk.pem"), "not a certificate\n");
    assert.throws(() => readPemFile(join(dir, "junk.pem"), "CA certificate", "fix it"), pkiError("not-pem", /is not a PEM file: fix it/));
    assert.throws(() => assertKeyMatchesCertificate(master.keyPem, web1.certPem, "agent certificate", "re-enroll"), pkiError("key-mismatch"));

    writeFileSync(join(dir, "ca.pem"), ca.certPem);
    writeFileSync(join(dir, "agent.pem"), web1.certPem);
    writeFileSync(join(dir, "agent.key"), web1.keyPem);
    const { identity, certificate } = loadTlsIdentity(
      { ca: join(dir, "ca.pem"), cert: join(dir, "agent.pem"), key: join(dir, "agent.key"), revocations: join(dir, "revoked.json") },
      "agent",
      "web1",
    );
    assert.equal(certificate.commonName, "web1");
    assert.equal(identity.revocations.has(certificate.serial), false);
    // The master's key in the agent's slot is caught before any TLS attempt.
    writeFileSync(join(dir, "agent.key"), master.keyPem);
    assert.throws(
      () => loadTlsIdentity({ ca: join(dir, "ca.pem"), cert: join(dir, "agent.pem"), key: join(dir, "agent.key") }, "agent", "web1"),
      pkiError("key-mismatch"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("revocation lists are CA-signed, tamper-evident and never roll back", () => {
  const serial = new X509Certificate(master.certPem).serialNumber; // upper-case, as Node prints it
  const older = signRevocationList(ca, [], new Date(Date.now() - 60_000));
  const list = signRevocationList(ca, [serial]);
  const r = new Revocations(ca.certPem);
  assert.equal(r.adopt(list), true);
  assert.equal(r.has(serial), true);
  assert.equal(r.has(serial.toLowerCase()), true);
  assert.equal(r.adopt(older), false, "an older list must not replace a newer one");
  assert.equal(r.has(serial), true);

  const tampered = { ...list, serials: [] };
  assert.throws(() => verifyRevocationList(tampered, ca.certPem), pkiError("bad-revocation-list", /not signed by this CA/));
  const foreign = signRevocationList(otherCa, []);
  assert.throws(() => r.adopt(foreign), pkiError("bad-revocation-list"));
  assert.throws(() => verifyRevocationList("{", ca.certPem), pkiError("bad-revocation-list", /not JSON/));

  const dir = mkdtempSync(join(tmpdir(), "pki-test-"));
  try {
    writeFileSync(join(dir, "r.json"), JSON.stringify(list));
    assert.equal(loadRevocations(join(dir, "r.json"), ca.certPem).has(serial), true);
    assert.equal(loadRevocations(join(dir, "missing.json"), ca.certPem).has(serial), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("node names are canonical DNS names", () => {
  assert.equal(assertNodeName("db1.example.org"), "db1.example.org");
  for (const bad of ["Web1", "-web", "web_1", "", "a..b", "x, URI:pullback:role:master"]) {
    assert.throws(() => assertNodeName(bad), pkiError("invalid-node-name"), bad);
  }
});

test("a CSR certifies the requester's own key: the CA decides role and name, the key never travels", async () => {
  const keys = await generateRsaKeyPair(2048);
  const csr = readCsr(createCsr(keys.privateKeyPem, "web1"));
  assert.equal(csr.commonName, "web1");
  const agentPem = signAgentKey(ca, "web1", csr.publicKeyPem);
  const info = verifyCertificate(agentPem, ca.certPem, { role: "agent", nodeName: "web1" });
  assert.deepEqual(info.dnsNames, ["web1"]);
  assert.deepEqual(new X509Certificate(agentPem).keyUsage, ["1.3.6.1.5.5.7.3.1"]);
  assertKeyMatchesCertificate(keys.privateKeyPem, agentPem, "agent certificate", "re-enroll");
  const masterPem = signMasterKey(ca, csr.publicKeyPem);
  assert.equal(verifyCertificate(masterPem, ca.certPem, { role: "master" }).role, "master");
  assert.deepEqual(new X509Certificate(masterPem).keyUsage, ["1.3.6.1.5.5.7.3.2"]);
});

test("a CSR whose key was swapped after signing is refused (no proof of possession)", async () => {
  const mine = await generateRsaKeyPair(2048);
  const theirs = await generateRsaKeyPair(2048);
  const req = forge.pki.certificationRequestFromPem(createCsr(mine.privateKeyPem, "web1"));
  // Keep the signature, put someone else's public key in: the CA must not certify that key.
  req.publicKey = forge.pki.publicKeyFromPem(theirs.publicKeyPem);
  (req as { certificationRequestInfo: unknown }).certificationRequestInfo = null; // forge re-encodes from the fields
  const forged = forge.pki.certificationRequestToPem(req);
  assert.equal(
    forge.pki.publicKeyToPem(forge.pki.certificationRequestFromPem(forged).publicKey!).replace(/\s/g, ""),
    theirs.publicKeyPem.replace(/\s/g, ""),
    "the forged request carries the other key",
  );
  assert.throws(() => readCsr(forged), pkiError("bad-csr", /signature does not match/));
  assert.throws(() => readCsr("not a csr"), pkiError("bad-csr", /not a PEM certificate signing request/));
});

test("keygen makes a 0600 key with O_EXCL: an existing key or a planted symlink is never written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pki-test-"));
  const old = process.umask(0);
  try {
    const files = await writeKeyRequest(join(dir, "pki"), "agent", "web1");
    assert.equal(statSync(files.key).mode & 0o777, 0o600);
    assert.equal(readCsr(readFileSync(files.csr, "utf8")).commonName, "web1");
    const key = readFileSync(files.key, "utf8");
    await assert.rejects(writeKeyRequest(join(dir, "pki"), "agent", "web1"), /already exists/);
    assert.equal(readFileSync(files.key, "utf8"), key, "the existing key is kept");
    symlinkSync(join(dir, "loot.key"), join(dir, "pki", "other.key"));
    await assert.rejects(writeKeyRequest(join(dir, "pki"), "other", "web1"), /EEXIST/);
    assert.equal(existsSync(join(dir, "loot.key")), false, "nothing written through the symlink");
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});
