/**
 * A remote node reached over mTLS gRPC. The master dials; the agent answers. Backup: send the index
 * (chunks the store already has for this source, base files), then turn the agent's messages into
 * source events, acknowledging each chunk only after the snapshot writer stored it. Restore: stream
 * entries and the stored (still compressed) chunks; the agent verifies each chunk before writing.
 */
import { randomUUID } from "node:crypto";
import {
  connectAgent,
  CreditWindow,
  entryFromWire,
  entryToWire,
  hexToId,
  idToHex,
  BASE_FILES_BATCH_BYTES,
  CAPABILITY_ENTRY_BATCH,
  DEFAULT_WINDOW_BYTES,
  KNOWN_CHUNKS_PER_BATCH,
  MAX_CHUNK_BYTES,
  type AgentClient,
  type BackupClientSession,
  type BaseFile,
  type Entry as WireEntry,
  type BackupStartFields,
  type CallLimits,
  type InfoResponse,
  type RestoreClientSession,
} from "@pullback/common/rpc/index";
import { FILE_CHUNKING, isCodecName, PEER_PROTOCOL_HINT, WarningList, type BackupProgress, type CodecName, type PriorFile, type SourceEvent } from "@pullback/common";
import type { TlsIdentity, RevocationListFile } from "@pullback/common/pki/index";
import type { ChunkStore } from "../store/chunk-store.js";
import { TaskPool } from "../util/task-pool.js";
import type { BackupRequest, BackupStream, NodeLink, RemoteRestoreRequest, RemoteRestoreResult } from "./node-link.js";
import { AgentProtocolError } from "../errors.js";
import { sourceWireSpec } from "./source-config.js";
import { MASTER_VERSION } from "../version.js";

/** The agent stopped mid-session: its own log says why (a crash, a restart, a killed process). */
const ENDED_EARLY_HINT = "check the agent's log on that node for why it stopped, then run the job again";

export class GrpcLink implements NodeLink {
  private readonly client: AgentClient;

  constructor(address: string, nodeName: string, identity: TlsIdentity, revocationList: RevocationListFile, limits: CallLimits = {}) {
    if (FILE_CHUNKING.maxSize > MAX_CHUNK_BYTES) throw new Error("internal error: chunker max size exceeds the wire's chunk limit — please report");
    this.client = connectAgent(address, nodeName, identity, {
      masterVersion: MASTER_VERSION,
      revocationList,
      ...(limits.idleMs !== undefined ? { idleTimeoutMs: limits.idleMs } : {}),
      ...(limits.deadlineMs !== undefined ? { sessionDeadlineMs: limits.deadlineMs } : {}),
    });
  }

  info(): Promise<InfoResponse> {
    return this.client.info();
  }

  backup(req: BackupRequest, onProgress: (p: BackupProgress) => void): BackupStream {
    const client = this.client;
    let bytesRead = 0;
    const wire = sourceWireSpec(req.sourceType, req.config);
    async function* events(): AsyncGenerator<SourceEvent> {
      const prior = req.prior ? [...req.prior] : [];
      const session = await client.backup(backupStart(req, wire, prior.length));
      let finished = false;
      try {
        await sendIndex(session, req.knownChunks, prior);
        const progress: BackupProgress = { files: 0, bytesRead: 0, currentPath: "" };
        // The message loop stays here, not in a helper generator: one more layer would cost every chunk.
        for await (const m of session.messages) {
          switch (m.msg) {
            case "chunk": {
              if (!isCodecName(m.chunk.codec)) throw new AgentProtocolError(`agent sent chunk ${idToHex(m.chunk.id)} with unknown codec ${m.chunk.codec}`, PEER_PROTOCOL_HINT);
              yield { kind: "chunk", id: idToHex(m.chunk.id), codec: m.chunk.codec, plainLen: m.chunk.plainLength, data: Buffer.from(m.chunk.data) };
              // The writer has stored it: return the credit.
              await session.send({ msg: "ack", ack: { chunkIds: [m.chunk.id], bytes: m.chunk.data.length } });
              break;
            }
            case "entry":
              yield entryEvent(m.entry, progress);
              break;
            case "entries":
              // A batch is framing only: each entry goes on exactly as if it had come alone. One of
              // more than MAX_ENTRIES_PER_MESSAGE never gets here: the client refuses it undecoded.
              for (const w of m.entries.entries) yield entryEvent(w, progress);
              break;
            case "warning":
              yield { kind: "warning", path: m.warning.path, message: m.warning.message };
              break;
            case "progress":
              progress.bytesRead = m.progress.bytesRead;
              progress.currentPath = m.progress.currentPath;
              bytesRead = m.progress.bytesRead;
              onProgress(progress);
              break;
            case "done":
              bytesRead = m.done.stats?.bytesRead ?? bytesRead;
              finished = true;
              break;
            case "accepted":
              throw new AgentProtocolError("agent sent accepted twice", PEER_PROTOCOL_HINT);
          }
          if (finished) break;
        }
        if (!finished) throw new AgentProtocolError(`agent ${client.nodeName} ended the backup without finishing it`, ENDED_EARLY_HINT);
        session.end();
      } finally {
        if (!finished) session.cancel();
      }
    }
    return { events: events(), bytesRead: () => bytesRead };
  }

  async restore(req: RemoteRestoreRequest): Promise<RemoteRestoreResult> {
    const session = await this.client.restore({
      jobId: randomUUID(),
      snapshotId: req.snapshotId,
      sourceType: req.sourceType,
      targetDir: req.target,
      options: { overwrite: req.overwrite, restoreOwner: true, include: [], keepSpecial: req.keepSpecial },
      totalEntries: req.totalEntries,
      totalBytes: req.totalBytes,
      params: req.params ?? {},
    });
    const window = new CreditWindow(Number(session.accepted.windowBytes) || DEFAULT_WINDOW_BYTES);
    const replies = new RestoreReplies(session, window, req.onProgress);
    try {
      await sendRestoreStream(session, window, req);
      await session.send({ msg: "end", end: {} });
      session.end();
      await replies.finished;
    } catch (err) {
      session.cancel();
      throw err;
    }
    const done = replies.done;
    if (!done) throw new AgentProtocolError(`agent ${this.client.nodeName} ended the restore without reporting it done`, ENDED_EARLY_HINT);
    return { entries: done.entries, bytesWritten: done.bytesWritten, errors: replies.warnings.lines(), special: replies.special.lines() };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}


/** One entry as the agent sent it, alone or in a batch: entryFromWire's checks, then the writer's. */
function entryEvent(w: WireEntry, progress: BackupProgress): SourceEvent {
  const entry = entryFromWire(w);
  if (entry.type === "file") progress.files++;
  return { kind: "entry", entry, unchanged: w.unchanged };
}

/** The Backup call's first message: the source as the agent needs it and the size of the index to come. */
function backupStart(req: BackupRequest, wire: ReturnType<typeof sourceWireSpec>, baseFileCount: number): BackupStartFields {
  return {
    jobId: randomUUID(),
    // The message loop in backup() reads EntryBatch; an agent that knows it may send batches.
    capabilities: [CAPABILITY_ENTRY_BATCH],
    source: {
      name: req.sourceName,
      type: req.sourceType,
      path: wire.path,
      excludes: wire.excludes,
      level: req.level,
      codec: req.codec.name,
      codecLevel: req.codec.level ?? 0,
      hook: "",
      params: wire.params,
    },
    knownChunkCount: req.knownChunks.size,
    baseFileCount,
    windowBytes: DEFAULT_WINDOW_BYTES,
    maxChunkBytes: MAX_CHUNK_BYTES,
  };
}

/** The index, in batches, then indexComplete: the agent reads nothing before it has all of it. */
async function sendIndex(session: BackupClientSession, knownChunks: ReadonlySet<string>, prior: [string, PriorFile][]): Promise<void> {
  let batch: Buffer[] = [];
  for (const id of knownChunks) {
    batch.push(hexToId(id));
    if (batch.length === KNOWN_CHUNKS_PER_BATCH) {
      await session.send({ msg: "knownChunks", knownChunks: { ids: batch } });
      batch = [];
    }
  }
  if (batch.length) await session.send({ msg: "knownChunks", knownChunks: { ids: batch } });
  let files: BaseFile[] = [];
  let size = 0;
  for (const [path, f] of prior) {
    files.push({ path, size: f.size, mtimeNs: f.mtimeNs, ctimeNs: f.ctimeNs, ino: f.ino });
    size += path.length + 64;
    if (size >= BASE_FILES_BATCH_BYTES) {
      await session.send({ msg: "baseFiles", baseFiles: { files } });
      files = [];
      size = 0;
    }
  }
  if (files.length) await session.send({ msg: "baseFiles", baseFiles: { files } });
  await session.send({ msg: "indexComplete", indexComplete: {} });
}

/** What the agent sends back during a restore, read as it arrives: acks return credit to the window. */
class RestoreReplies {
  readonly warnings = new WarningList();
  readonly special = new WarningList();
  done: { entries: number; bytesWritten: number } | undefined;
  readonly finished: Promise<void>;

  constructor(session: RestoreClientSession, window: CreditWindow, onProgress: RemoteRestoreRequest["onProgress"]) {
    this.finished = (async () => {
      for await (const m of session.messages) {
        if (m.msg === "ack") window.release(m.ack.bytes);
        else if (m.msg === "warning") (m.warning.code === "special" ? this.special : this.warnings).add(m.warning.message.startsWith(m.warning.path) ? "" : m.warning.path, m.warning.message);
        else if (m.msg === "progress") onProgress?.({ files: m.progress.entriesDone, bytesWritten: m.progress.bytesWritten });
        else if (m.msg === "done") this.done = m.done;
      }
    })();
    this.finished.catch((e: unknown) => window.fail(e as Error));
  }
}

/**
 * Each entry, then its stored chunks. Reads run in parallel; sends are serialised, in whatever order
 * reads finish. A chunk the store cannot read goes out empty with its error, for the agent to report.
 */
async function sendRestoreStream(session: RestoreClientSession, window: CreditWindow, req: RemoteRestoreRequest): Promise<void> {
  const pool = new TaskPool(req.concurrency ?? 8);
  let sendChain = Promise.resolve();
  for await (const e of req.entries) {
    await session.send({ msg: "entry", entry: entryToWire(e) });
    for (const c of e.chunks ?? []) {
      await pool.run(async () => {
        let raw: { codec: CodecName; plainLen: number; data: Buffer };
        let error = "";
        try {
          raw = await req.store.readRaw(c.id);
        } catch (err) {
          raw = { codec: "none", plainLen: c.len, data: Buffer.alloc(0) };
          error = (err as Error).message;
        }
        await window.acquire(raw.data.length);
        sendChain = sendChain.then(() =>
          session.send({ msg: "chunk", chunk: { id: hexToId(c.id), plainLength: raw.plainLen, codec: raw.codec, data: raw.data, error } }),
        );
        await sendChain;
      });
    }
  }
  await pool.drain();
  await sendChain;
}
