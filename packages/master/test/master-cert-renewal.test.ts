/**
 * `pullback init --renew-master-cert` after a master key leak: the renewal must revoke the old
 * certificate, so whoever stole the old key is refused by every agent the master has contacted since.
 * The attacker here is a real gRPC client with the old master certificate and key, dialling a real
 * agent over mTLS.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Revocations, normalizeSerial, type TlsIdentity } from "@pullback/common/pki/index";
import { connectAgent } from "@pullback/common/rpc/index";
import { Testbed } from "./support/testbed.js";

let tb: Testbed;

/** A copy of the master's identity as files stand now: what a thief of the pki directory holds. */
function stealMasterIdentity(): TlsIdentity {
  const pki = join(tb.home, "pki");
  const caPem = readFileSync(join(pki, "ca.crt"), "utf8");
  return { caPem, certPem: readFileSync(join(pki, "master.crt"), "utf8"), keyPem: readFileSync(join(pki, "master.key"), "utf8"), revocations: new Revocations(caPem) };
}

async function infoWith(id: TlsIdentity): Promise<string> {
  const port = tb.agents.get("web1")!.port;
  const client = connectAgent(`127.0.0.1:${port}`, "web1", id, { masterVersion: "stolen", infoDeadlineMs: 10_000 });
  try {
    return (await client.info()).nodeName;
  } finally {
    client.close();
  }
}

before(async () => {
  tb = await Testbed.create();
  const data = join(tb.dir, "data");
  mkdirSync(data);
  await tb.addAgent("web1", [data], []);
});

after(async () => {
  await tb?.destroy();
});

test("after renewal and one contact, the agent refuses the old master certificate, also after a restart", async () => {
  const stolen = stealMasterIdentity();
  const oldSerial = normalizeSerial(new X509Certificate(stolen.certPem).serialNumber);
  assert.equal(await infoWith(stolen), "web1", "before renewal the stolen identity works: the test would prove nothing otherwise");

  const renewed = tb.json<{ issuedMaster: boolean; revokedMaster: string | null }>(["init", "--renew-master-cert"]);
  assert.equal(renewed.issuedMaster, true);

  // One contact with the new certificate pushes the list to the agent.
  assert.equal(tb.json<{ nodeName: string }>(["node", "info", "web1"]).nodeName, "web1");
  await assert.rejects(infoWith(stolen), (e: Error) => {
    assert.match(e.message, /revoked certificate .*serial/i);
    return true;
  });
  assert.equal(renewed.revokedMaster, oldSerial);
  const list = JSON.parse(tb.ok(["revocations", "export"])) as { serials: string[] };
  assert.ok(list.serials.includes(oldSerial), "the old master serial is on the signed list");

  // The agent persisted the list: a restart does not bring the old certificate back.
  await tb.stopAgent("web1");
  await tb.startAgent("web1");
  await assert.rejects(infoWith(stolen), /revoked/i);
  assert.equal(tb.json<{ nodeName: string }>(["node", "info", "web1"]).nodeName, "web1", "the renewed master still works");
});

test("online revoke NODE: the master refuses the node's certificate from then on", () => {
  const r = tb.json<{ revoked: string[] }>(["revoke", "web1"]);
  assert.equal(r.revoked.length, 1);
  const info = tb.cli(["node", "info", "web1"]);
  assert.notEqual(info.code, 0);
  assert.match(info.stderr, /revoked certificate/);
});
