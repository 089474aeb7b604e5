import { test, after } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate, randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import {
  Revocations,
  createCa,
  issueAgentCertificate,
  issueCertificate,
  issueMasterCertificate,
  generateRsaKeyPair,
  signRevocationList,
  type CertKeyPair,
  type TlsIdentity,
} from "../src/pki/index.js";
import {
  AgentService,
  type BackupResponse,
  type InfoResponse,
} from "../src/rpc/generated/agent.js";
import {
  CreditWindow,
  RpcError,
  connectAgent,
  createAgentServer,
  type AgentHandlers,
  type AgentClient,
} from "../src/rpc/index.js";

// ---- fixture: one CA, the certificates a real install has, and the bad ones we must refuse.

const DAY = 86_400_000;
const ca = await createCa();
const otherCa = await createCa();
const master = await issueMasterCertificate(ca);
const web1 = await issueAgentCertificate(ca, "web1");
const web2 = await issueAgentCertificate(ca, "web2");
const foreignMaster = await issueMasterCertificate(otherCa);
const expiredMaster = await issueMasterCertificate(ca, { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
const expiredWeb1 = await issueAgentCertificate(ca, "web1", { notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });
const revokedMaster = await issueMasterCertificate(ca);
const revokedWeb1 = await issueAgentCertificate(ca, "web1");
// An agent-role certificate that TLS would accept as a client (it also has clientAuth): only our
// role check stands between it and the agent.
const sneakyKeys = await generateRsaKeyPair(2048);
const sneakyAgent: CertKeyPair = {
  keyPem: sneakyKeys.privateKeyPem,
  certPem: issueCertificate({
    commonName: "web3",
    organizationalUnit: "agent",
    publicKeyPem: sneakyKeys.publicKeyPem,
    isCa: false,
    role: "agent",
    dnsNames: ["web3"],
    extKeyUsage: ["serverAuth", "clientAuth"],
    issuer: ca,
    validityDays: 30,
  }),
};
const serialOf = (p: CertKeyPair) => new X509Certificate(p.certPem).serialNumber;
const revocationList = signRevocationList(ca, [serialOf(revokedMaster), serialOf(revokedWeb1)]);

function identity(pair: CertKeyPair, trust = ca, withRevocations = true): TlsIdentity {
  const revocations = new Revocations(trust.certPem);
  if (withRevocations) revocations.adopt(revocationList);
  return { caPem: trust.certPem, certPem: pair.certPem, keyPem: pair.keyPem, revocations };
}

interface Agent {
  port: number;
  calls: { info: number; backup: number; restore: number };
  refusals: string[];
  peakWindow: number;
  close(): Promise<void>;
}

const CHUNK = 1 << 20;

async function startAgent(pair: CertKeyPair, nodeName: string, agentIdentity = identity(pair)): Promise<Agent> {
  const calls = { info: 0, backup: 0, restore: 0 };
  const refusals: string[] = [];
  const agent: Partial<Agent> = { calls, refusals, peakWindow: 0 };
  const handlers: AgentHandlers = {
    info: () => {
      calls.info++;
      return { agentVersion: "test-agent", hostName: "host-" + nodeName, nodeName, capabilities: ["source:fs"], tools: [{ name: "qemu-img", path: "", version: "" }], os: "linux", arch: "x64" };
    },
    backup: async (s) => {
      calls.backup++;
      // Accept at once (the master waits for it), read the whole index, then stream N chunks
      // through the credit window the master granted.
      await s.accept();
      let index = 0;
      for (let m = await s.messages.next(); m && m.msg !== "indexComplete"; m = await s.messages.next()) {
        if (m.msg === "knownChunks") index += m.knownChunks.ids.length;
      }
      const window = new CreditWindow(s.start.windowBytes);
      const acks = (async () => {
        for await (const m of s.messages) if (m.msg === "ack") window.release(m.ack.bytes);
      })().catch((e: unknown) => window.fail(e as Error));
      const count = Number(s.start.source?.params["chunks"] ?? "0");
      const data = randomBytes(CHUNK);
      for (let i = 0; i < count; i++) {
        await window.acquire(CHUNK);
        const id = Buffer.alloc(32);
        id.writeUInt32BE(i);
        await s.send({ msg: "chunk", chunk: { id, plainLength: CHUNK, codec: "none", data, error: "" } });
      }
      agent.peakWindow = window.peak;
      await s.send({ msg: "warning", warning: { path: "", code: "index", message: `index had ${index} ids` } });
      await s.send({ msg: "done", done: { stats: { files: 0, dirs: 0, otherEntries: 0, bytesTotal: count * CHUNK, bytesRead: count * CHUNK, bytesSent: count * CHUNK, chunksTotal: count, chunksSent: count, warnings: 0, level: "full" } } });
      void acks;
    },
    restore: async () => {
      calls.restore++;
    },
  };
  const server = await createAgentServer(handlers, agentIdentity, {
    address: "127.0.0.1:0",
    agentVersion: "test-agent",
    onRefused: (reason) => refusals.push(reason),
  });
  Object.assign(agent, { port: server.port, close: () => server.close() });
  return agent as Agent;
}

const clients: AgentClient[] = [];
function dial(agent: Agent, nodeName: string, masterIdentity: TlsIdentity, protocolVersion?: number): AgentClient {
  const c = connectAgent(`127.0.0.1:${agent.port}`, nodeName, masterIdentity, {
    masterVersion: "test-master",
    revocationList,
    infoDeadlineMs: 5_000,
    ...(protocolVersion === undefined ? {} : { protocolVersion }),
  });
  clients.push(c);
  return c;
}

const goodAgent = await startAgent(web1, "web1");
after(async () => {
  for (const c of clients) c.close();
  await goodAgent.close();
});

/** Asserts the call failed with our RpcError, matching `pattern`, and that no handler ran. */
async function refused(agent: Agent, p: Promise<unknown>, pattern: RegExp, code?: grpc.status): Promise<RpcError> {
  const before = { ...agent.calls };
  const err = await p.then(
    () => assert.fail("the call should have been refused"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
  assert.match(err.message, pattern);
  if (code !== undefined) assert.equal(err.code, code, err.message);
  assert.deepEqual(agent.calls, before, "no handler may run for a refused call");
  return err;
}

// ---- the good pair

test("a master and an agent of the same CA: Info round-trip", async () => {
  const info: InfoResponse = await dial(goodAgent, "web1", identity(master)).info();
  assert.equal(info.nodeName, "web1");
  assert.equal(info.agentVersion, "test-agent");
  assert.equal(info.protocolVersion, 1);
  assert.equal(info.maxMessageBytes, 9 * 1024 * 1024);
  assert.deepEqual(info.tools, [{ name: "qemu-img", path: "", version: "" }]);
  assert.equal(goodAgent.calls.info, 1);
});

test("Info pushes a newer revocation list to an agent that has none", async () => {
  const bare = identity(web2, ca, false);
  const agent = await startAgent(web2, "web2", bare);
  try {
    assert.equal(bare.revocations.has(serialOf(revokedMaster)), false);
    await dial(agent, "web2", identity(master)).info();
    assert.equal(bare.revocations.has(serialOf(revokedMaster)), true);
  } finally {
    await agent.close();
  }
});

test("Backup moves 64 MiB of chunks with a bounded window", async () => {
  const WINDOW = 8 * CHUNK;
  const N = 64;
  const session = await dial(goodAgent, "web1", identity(master)).backup({
      jobId: "j1",
      source: { name: "root", type: "fs", path: "/", excludes: [], level: "full", codec: "none", codecLevel: 0, hook: "", params: { chunks: String(N) } },
      knownChunkCount: 3,
      baseFileCount: 0,
      windowBytes: WINDOW,
      maxChunkBytes: 8 * CHUNK,
  });
  await session.send({ msg: "knownChunks", knownChunks: { ids: [randomBytes(32), randomBytes(32), randomBytes(32)] } });
  await session.send({ msg: "indexComplete", indexComplete: {} });
  assert.equal(session.accepted.agentVersion, "test-agent");
  let bytes = 0;
  let chunks = 0;
  let done: BackupResponse | undefined;
  const seen = new Set<number>();
  const t0 = performance.now();
  for await (const m of session.messages) {
    if (m.msg === "chunk") {
      chunks++;
      bytes += m.chunk.data.length;
      seen.add(Buffer.from(m.chunk.id).readUInt32BE(0));
      // "Store" it slowly now and then, so the agent really has to wait for credit.
      if (chunks % 8 === 0) await new Promise((r) => setTimeout(r, 5));
      await session.send({ msg: "ack", ack: { chunkIds: [m.chunk.id], bytes: m.chunk.data.length } });
    } else if (m.msg === "done") {
      done = m;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  session.end();
  assert.equal(chunks, N);
  assert.equal(seen.size, N);
  assert.equal(bytes, N * CHUNK);
  assert.ok(done?.msg === "done" && done.done.stats?.chunksSent === N);
  assert.ok(goodAgent.peakWindow <= WINDOW, `agent had ${goodAgent.peakWindow} bytes unacknowledged, window ${WINDOW}`);
  assert.ok(goodAgent.peakWindow >= 2 * CHUNK, "several chunks should be in flight");
  console.log(`# 64 MiB over mTLS loopback in ${secs.toFixed(2)} s (${(64 / secs).toFixed(0)} MiB/s), peak in flight ${goodAgent.peakWindow / CHUNK} MiB`);
});

// ---- refusals: each must fail with a readable reason and never reach a handler

const backupStart = {
  jobId: "j",
  source: { name: "root", type: "fs", path: "/", excludes: [], level: "full", codec: "none", codecLevel: 0, hook: "", params: { chunks: "1" } },
  knownChunkCount: 0,
  baseFileCount: 0,
  windowBytes: 8 * CHUNK,
  maxChunkBytes: 8 * CHUNK,
};

test("refused: a client without a certificate", async () => {
  // Below our helpers on purpose: connectAgent cannot even express "no certificate".
  const client = new grpc.Client(`127.0.0.1:${goodAgent.port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem)), {
    "grpc.ssl_target_name_override": "web1",
  });
  try {
    const before = { ...goodAgent.calls };
    const m = AgentService.info;
    const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
      client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, { protocolVersion: 1, masterVersion: "x", revocationList: "" }, { deadline: Date.now() + 5000 }, (e) =>
        e ? resolve(e) : reject(new Error("call without a client certificate succeeded")),
      ),
    );
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
    assert.deepEqual(goodAgent.calls, before);
  } finally {
    client.close();
  }
});

test("refused: a master certificate from another CA", async () => {
  await refused(goodAgent, dial(goodAgent, "web1", identity(foreignMaster)).info(), /refused the master's certificate: this master's own certificate is unusable: master certificate was not issued by this CA/, grpc.status.UNAVAILABLE);
});

test("refused: an expired master certificate", async () => {
  await refused(goodAgent, dial(goodAgent, "web1", identity(expiredMaster)).backup(backupStart), /refused the master's certificate: .*master certificate expired on .*renew-master-cert/, grpc.status.UNAVAILABLE);
});

test("refused: an expired agent certificate (the master says so)", async () => {
  const agent = await startAgent(expiredWeb1, "web1");
  try {
    await refused(agent, dial(agent, "web1", identity(master)).info(), /presented a certificate this master refuses \(.*certificate has expired.*\): re-enroll the node with `pullback enroll web1`/, grpc.status.UNAVAILABLE);
  } finally {
    await agent.close();
  }
});

test("refused: an agent certificate used as the master", async () => {
  // serverAuth only: OpenSSL's purpose check on the agent stops it in the handshake.
  await refused(goodAgent, dial(goodAgent, "web1", identity(web2)).info(), /refused the master's certificate: .*role agent, expected master/, grpc.status.UNAVAILABLE);
  // Agent role but clientAuth too: TLS accepts it, our role check must not.
  const refusalsBefore = goodAgent.refusals.length;
  await refused(goodAgent, dial(goodAgent, "web1", identity(sneakyAgent)).info(), /refused the master: .*role agent, expected master/, grpc.status.PERMISSION_DENIED);
  await refused(goodAgent, dial(goodAgent, "web1", identity(sneakyAgent)).backup(backupStart), /role agent, expected master/, grpc.status.PERMISSION_DENIED);
  assert.equal(goodAgent.refusals.length, refusalsBefore + 2, "the agent logs each refusal");
});

test("refused: a node answering with another node's certificate", async () => {
  const impostor = await startAgent(web2, "web2");
  try {
    await refused(impostor, dial(impostor, "web1", identity(master)).info(), /certificate of web2 .*check the node's address/, grpc.status.UNAVAILABLE);
    await refused(impostor, dial(impostor, "web1", identity(master)).backup(backupStart), /certificate of web2/, grpc.status.UNAVAILABLE);
  } finally {
    await impostor.close();
  }
});

test("refused: revoked certificates, on both sides", async () => {
  await refused(goodAgent, dial(goodAgent, "web1", identity(revokedMaster)).info(), /refused the master: .*revoked certificate/, grpc.status.PERMISSION_DENIED);
  await refused(goodAgent, dial(goodAgent, "web1", identity(revokedMaster)).backup(backupStart), /revoked/, grpc.status.PERMISSION_DENIED);
  const revokedAgent = await startAgent(revokedWeb1, "web1");
  try {
    await refused(revokedAgent, dial(revokedAgent, "web1", identity(master)).info(), /revoked certificate .*pullback enroll web1/, grpc.status.UNAVAILABLE);
  } finally {
    await revokedAgent.close();
  }
});

test("refused: a master speaking a newer protocol gets told to upgrade the agent", async () => {
  const newer = dial(goodAgent, "web1", identity(master), 2);
  await refused(goodAgent, newer.info(), /protocol mismatch: the master speaks protocol 2, this agent \(test-agent\) speaks 1\.\.1: upgrade the agent/, grpc.status.FAILED_PRECONDITION);
  await refused(goodAgent, newer.backup(backupStart), /protocol mismatch.*upgrade the agent/, grpc.status.FAILED_PRECONDITION);
  await refused(goodAgent, dial(goodAgent, "web1", identity(master), 0).backup(backupStart), /upgrade the master/, grpc.status.FAILED_PRECONDITION);
});
