/**
 * A compromised node for security tests: the real agent gRPC server (real mTLS, the node's own
 * certificate and key from a real enrollment bundle) whose handlers lie. A test scripts what the
 * "agent" sends; on the other side is the real master (CLI or job runner) and its real catalog.
 *
 * The script sees the master's index (known chunks, base files) and sends raw wire messages, so it
 * can send anything a modified agent could: entries with absurd fields, references to chunks it
 * never held, floods of warnings, chunks whose bytes do not match their id.
 */
import { join } from "node:path";
import { chunkId } from "@pullback/common";
import { loadTlsIdentity } from "@pullback/common/pki/index";
import {
  CreditWindow,
  createAgentServer,
  hexToId,
  idToHex,
  type AgentServer,
  type BackupResponse,
  type BackupSession,
  type RestoreSession,
  type wire,
} from "@pullback/common/rpc/index";
import { Testbed } from "./testbed.js";

/** What the master told the "agent" before it started sending. */
export interface MasterIndex {
  knownChunks: Set<string>;
  baseFiles: Map<string, wire.BaseFile>;
}

/** The send side of a scripted backup: raw messages, plus helpers for the common ones. */
export interface HostileBackup {
  index: MasterIndex;
  send(msg: BackupResponse): Promise<void>;
  /** Sends `plain` as an uncompressed chunk with its true id (unless `id` lies) and returns the id. */
  chunk(plain: Buffer, id?: string): Promise<string>;
  entry(e: Partial<wire.Entry> & { path: string }): Promise<void>;
  /** Sends the entries as one EntryBatch message (whether or not the master listed the capability). */
  entries(list: (Partial<wire.Entry> & { path: string })[]): Promise<void>;
  warning(path: string, message: string): Promise<void>;
  progress(currentPath: string, bytesRead?: number): Promise<void>;
}

export type BackupScript = (b: HostileBackup) => Promise<void>;
export type RestoreScript = (s: RestoreSession) => Promise<void>;

export interface HostileAgent {
  port: number;
  /** The script the next Backup call runs (sends `done` after it unless it threw). */
  onBackup(script: BackupScript): void;
  onRestore(script: RestoreScript): void;
  /** How many Backup calls the master made. */
  backups: number;
  close(): Promise<void>;
}

/** Defaults for a wire entry: a root-owned object with sane times. */
export function wireEntry(e: Partial<wire.Entry> & { path: string }): wire.Entry {
  const now = `${Date.now()}000000`;
  return {
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeNs: now,
    atimeNs: now,
    ctimeNs: now,
    size: 0,
    ino: 1,
    dev: 1,
    chunks: [],
    holes: [],
    unchanged: false,
    ...e,
  };
}

/** A chunk reference for a wire entry. */
export function ref(id: string, off: number, len: number): wire.ChunkRef {
  return { id: hexToId(id), off, len };
}

/**
 * Enrolls `node` in the testbed's master (so the master knows its address and trusts its
 * certificate) and serves the Agent service with that identity, scripted by the test.
 */
export async function startHostileAgent(tb: Testbed, node: string, backupAllow: string[] = ["/"], restoreAllow: string[] = []): Promise<HostileAgent> {
  const { dir, port } = await tb.enroll(node, backupAllow, restoreAllow);
  const { identity } = loadTlsIdentity(
    { ca: join(dir, "pki", "ca.crt"), cert: join(dir, "pki", "agent.crt"), key: join(dir, "pki", "agent.key") },
    "agent",
    node,
  );
  let backupScript: BackupScript = async () => undefined;
  let restoreScript: RestoreScript = async (s) => {
    await s.accept();
  };
  const agent: HostileAgent = {
    port,
    backups: 0,
    onBackup: (s) => void (backupScript = s),
    onRestore: (s) => void (restoreScript = s),
    close: async () => {
      server.forceClose();
      await server.close();
    },
  };
  const server: AgentServer = await createAgentServer(
    {
      info: () => ({ agentVersion: "0.0.0-hostile", hostName: node, nodeName: node, capabilities: ["source:fs", "restore:fs"], tools: [], os: "linux", arch: "x64" }),
      backup: async (s) => {
        agent.backups++;
        await runBackupScript(s, backupScript);
      },
      restore: (s) => restoreScript(s),
    },
    identity,
    { address: `127.0.0.1:${port}`, agentVersion: "0.0.0-hostile" },
  );
  return agent;
}

async function runBackupScript(s: BackupSession, script: BackupScript): Promise<void> {
  await s.accept();
  const index: MasterIndex = { knownChunks: new Set(), baseFiles: new Map() };
  for (;;) {
    const m = await s.messages.next();
    if (m === undefined) return;
    if (m.msg === "knownChunks") for (const id of m.knownChunks.ids) index.knownChunks.add(idToHex(id));
    else if (m.msg === "baseFiles") for (const f of m.baseFiles.files) index.baseFiles.set(f.path, f);
    else if (m.msg === "indexComplete") break;
    else return;
  }
  // Honour the master's credit window, as a real agent must, so the script can send a lot.
  const window = new CreditWindow(Number(s.start.windowBytes) || 8 << 20);
  const acks = (async () => {
    for await (const m of s.messages) if (m.msg === "ack") window.release(m.ack.bytes);
  })().catch((e: unknown) => window.fail(e as Error));
  let sent = 0;
  const b: HostileBackup = {
    index,
    send: (msg) => s.send(msg),
    chunk: async (plain, id) => {
      const real = chunkId(plain);
      await window.acquire(plain.length);
      sent += plain.length;
      await s.send({ msg: "chunk", chunk: { id: hexToId(id ?? real), plainLength: plain.length, codec: "none", data: plain, error: "" } });
      return id ?? real;
    },
    entry: (e) => s.send({ msg: "entry", entry: wireEntry(e) }),
    entries: (list) => s.send({ msg: "entries", entries: { entries: list.map(wireEntry) } }),
    warning: (path, message) => s.send({ msg: "warning", warning: { path, code: "file", message } }),
    progress: (currentPath, bytesRead = sent) => s.send({ msg: "progress", progress: { entries: 0, bytesRead, bytesSent: sent, currentPath } }),
  };
  await script(b);
  const zero = { files: 0, dirs: 0, otherEntries: 0, bytesTotal: 0, bytesRead: sent, bytesSent: sent, chunksTotal: 0, chunksSent: 0, warnings: 0 };
  await s.send({ msg: "done", done: { stats: { ...zero, level: s.start.source?.level ?? "full" } } });
  // Like the real agent: ending the call while the master still acknowledges the last chunks would
  // make its next ack a write after end. Wait for its half-close (bounded).
  await Promise.race([acks, new Promise((r) => setTimeout(r, 60_000).unref())]);
}

/** The usual attack setup: a fresh testbed, one compromised node and a file source `home` on it. */
export async function hostileTestbed(node = "evil"): Promise<{ tb: Testbed; agent: HostileAgent }> {
  const tb = await Testbed.create();
  const agent = await startHostileAgent(tb, node);
  tb.ok(["source", "add", node, "home", "--path", "/home"]);
  return { tb, agent };
}

/** Undoes hostileTestbed(); either may be missing when its setup failed. */
export async function closeHostileTestbed(tb: Testbed | undefined, agent: HostileAgent | undefined): Promise<void> {
  await agent?.close();
  await tb?.destroy();
}
