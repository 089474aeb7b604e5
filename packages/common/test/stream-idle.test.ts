/**
 * The master's idle timeout on a Backup/Restore stream, over real mTLS gRPC: an agent that accepts
 * and then says nothing, or never even finishes the TLS handshake, fails the call with a reason
 * naming the node; a master that is itself busy (not waiting on the agent) is not timed out.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { Revocations, createCa, issueAgentCertificate, issueMasterCertificate, type CertKeyPair, type TlsIdentity } from "../src/pki/index.js";
import { RpcError, connectAgent, createAgentServer, type AgentClient, type BackupSession } from "../src/rpc/index.js";

const ca = await createCa();
const master = await issueMasterCertificate(ca);
const web1 = await issueAgentCertificate(ca, "web1");
const identity = (p: CertKeyPair): TlsIdentity => ({ caPem: ca.certPem, certPem: p.certPem, keyPem: p.keyPem, revocations: new Revocations(ca.certPem) });

const IDLE_MS = 500;
let behaviour: "silent" | "prompt" = "silent";

async function backup(s: BackupSession): Promise<void> {
  await s.accept();
  if (behaviour === "silent") {
    await new Promise<void>((r) => s.signal.addEventListener("abort", () => r()));
    return;
  }
  await s.send({ msg: "progress", progress: { entries: 0, bytesRead: 0, bytesSent: 0, currentPath: "" } });
  await s.send({ msg: "done", done: { stats: { files: 0, dirs: 0, otherEntries: 0, bytesTotal: 0, bytesRead: 0, bytesSent: 0, chunksTotal: 0, chunksSent: 0, warnings: 0, level: "full" } } });
}

const server = await createAgentServer(
  { info: () => ({ agentVersion: "t", hostName: "h", nodeName: "web1", capabilities: [], tools: [], os: "linux", arch: "x64" }), backup, restore: async () => undefined },
  identity(web1),
  { address: "127.0.0.1:0", agentVersion: "t" },
);
const clients: AgentClient[] = [];
function dial(address: string): AgentClient {
  const c = connectAgent(address, "web1", identity(master), { masterVersion: "t", idleTimeoutMs: IDLE_MS });
  clients.push(c);
  return c;
}
after(async () => {
  for (const c of clients) c.close();
  server.forceClose();
  await server.close();
});

const start = {
  jobId: "j",
  source: { name: "root", type: "fs", path: "/", excludes: [], level: "full", codec: "none", codecLevel: 0, hook: "", params: {} },
  knownChunkCount: 0,
  baseFileCount: 0,
  windowBytes: 1 << 20,
  maxChunkBytes: 1 << 20,
};

test("an agent that accepts and then says nothing: the next read fails after the idle timeout, naming the node", async () => {
  behaviour = "silent";
  const session = await dial(`127.0.0.1:${server.port}`).backup(start);
  await session.send({ msg: "indexComplete", indexComplete: {} });
  const t0 = Date.now();
  await assert.rejects(session.messages.next(), (e: unknown) => {
    assert.ok(e instanceof RpcError);
    assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED);
    assert.match(e.message, /^agent web1 sent nothing for 0\.5 s \(idle timeout\)/);
    return true;
  });
  const waited = Date.now() - t0;
  assert.ok(waited >= IDLE_MS - 50 && waited < 5000, `failed after ${waited} ms`);
});

test("a node that never finishes the TLS handshake: the call fails after the idle timeout", async () => {
  const held = new Set<Socket>();
  const hole = createServer((s) => held.add(s)).listen(0, "127.0.0.1");
  await new Promise((r) => hole.once("listening", r));
  try {
    const t0 = Date.now();
    await assert.rejects(dial(`127.0.0.1:${(hole.address() as { port: number }).port}`).backup(start), /agent web1 sent nothing for 0\.5 s \(idle timeout\)/);
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    for (const s of held) s.destroy();
    hole.close();
  }
});

test("a master busy for longer than the idle timeout (not waiting on the agent) is not timed out", async () => {
  behaviour = "prompt";
  const session = await dial(`127.0.0.1:${server.port}`).backup(start);
  await session.send({ msg: "indexComplete", indexComplete: {} });
  // Storing what arrived takes the master three idle periods; the agent's messages wait for it.
  await sleep(3 * IDLE_MS);
  const got: string[] = [];
  for await (const m of session.messages) got.push(m.msg);
  session.end();
  assert.deepEqual(got, ["progress", "done"]);
});
