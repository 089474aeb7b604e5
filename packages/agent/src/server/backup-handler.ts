/**
 * Serves one Backup call: checks the request against this node's allowlist, reads the master's index
 * (known chunks, base files), then streams the source's events with credit-based flow control so at
 * most one window of chunk bytes is ever unacknowledged, whatever the network does.
 */
import * as grpc from "@grpc/grpc-js";
import {
  parseCodec,
  type BackupProgress,
  type CodecSpec,
  type Entry,
  type PriorFile,
  type SourceEvent,
} from "@pullback/common";
import {
  CreditWindow,
  DEFAULT_WINDOW_BYTES,
  entryToWire,
  hexToId,
  idToHex,
  RpcError,
  type BackupResponse,
  type BackupSession,
  type BackupStart,
} from "@pullback/common/rpc/index";
import type { Logger } from "@pullback/common";
import { checkAllowed } from "../config/allowlist.js";
import { NotAllowedError } from "../errors.js";
import type { AgentConfig } from "../config/agent-config.js";
import { backupFsSource } from "../sources/fs-source.js";
import { isDbKind, prepareDbBackup } from "../sources/db-backup-request.js";
import { startHeartbeat } from "./heartbeat.js";
import { BackupSender } from "./backup-sender.js";

const PROGRESS_EVERY_MS = 1000;

type BackupSource = NonNullable<BackupStart["source"]>;

/** A checked request: the codec to compress with, and either a database to dump or a directory to walk. */
interface CheckedRequest {
  codec: CodecSpec;
  dbBackup: ReturnType<typeof prepareDbBackup> | null;
  /** The allowlisted directory (empty for a database). */
  root: string;
}

/** The master's index: chunks it holds, and the base snapshot's files (null when it sent none). */
interface MasterIndex {
  known: Set<string>;
  prior: Map<string, PriorFile> | null;
}

export async function handleBackup(session: BackupSession, cfg: AgentConfig, log: Logger): Promise<void> {
  const src = session.start.source;
  if (!src) throw new RpcError(grpc.status.INVALID_ARGUMENT, "BackupStart has no source");
  const req = await checkRequest(src, cfg);
  const jobLog = log.child({ job: session.start.jobId, source: src.name, ...(req.dbBackup ? { connection: req.dbBackup.connection } : { path: req.root }) });
  await session.accept();

  const index = await receiveIndex(session);
  if (index === null) return;
  if (src.level !== "full" && index.prior === null && session.start.baseFileCount > 0) {
    throw new RpcError(grpc.status.INVALID_ARGUMENT, "the master announced base files but sent none");
  }
  jobLog.info({ level: src.level, known: index.known.size, baseFiles: index.prior?.size ?? 0 }, "backup started");

  const window = new CreditWindow(Number(session.start.windowBytes) || DEFAULT_WINDOW_BYTES);
  const acks = followAcks(session, window);
  session.signal.addEventListener("abort", () => window.fail(new RpcError(grpc.status.CANCELLED, "the call was cancelled")));

  const tally = new BackupTally();
  const events = openEvents(src, req, index, tally, jobLog);
  const sender = new BackupSender(session);
  const heartbeat = startHeartbeat(cfg.heartbeatSeconds, session.signal, () => sender.send(tally.progress()));
  try {
    await sendEvents(session.signal, sender, events, window, tally, jobLog, req.dbBackup ? "dump" : "file");
  } finally {
    heartbeat.stop();
    await events.return(undefined);
  }
  await sender.send({ msg: "done", done: { stats: { ...tally.stats, level: src.level } } });
  jobLog.info(tally.stats, "backup finished");
  // Returning ends the call; the master may still be acknowledging the last chunks, so wait until
  // it half-closes (bounded, so a vanished master cannot hold the call open forever).
  await Promise.race([acks, new Promise((r) => setTimeout(r, 60_000).unref())]);
}

/** Refuses what this agent cannot or may not do before the call is accepted. */
async function checkRequest(src: BackupSource, cfg: AgentConfig): Promise<CheckedRequest> {
  if (src.type !== "fs" && !isDbKind(src.type)) throw new RpcError(grpc.status.UNIMPLEMENTED, `source type ${src.type} is not supported by this agent`);
  if (src.hook) throw new RpcError(grpc.status.UNIMPLEMENTED, `hooks are not supported for ${src.type} sources yet (asked for ${src.hook})`);
  let codec: CodecSpec;
  try {
    codec = parseCodec(src.codecLevel ? `${src.codec}:${src.codecLevel}` : src.codec || "lz4");
  } catch (err) {
    throw new RpcError(grpc.status.INVALID_ARGUMENT, (err as Error).message);
  }
  // Databases are named by connection (agent config), never by a path the allowlist would check.
  const dbBackup = isDbKind(src.type) ? prepareDbBackup(src.type, src.params, codec, cfg) : null;
  let root = "";
  if (!dbBackup) {
    try {
      root = await checkAllowed("backup", src.path, cfg.backup.allow);
    } catch (err) {
      if (err instanceof NotAllowedError) throw new RpcError(grpc.status.PERMISSION_DENIED, err.message);
      throw err;
    }
  }
  return { codec, dbBackup, root };
}

/** The index must be whole before anything is read: it decides what may be skipped. Null: the master cancelled. */
async function receiveIndex(session: BackupSession): Promise<MasterIndex | null> {
  const known = new Set<string>();
  let prior: Map<string, PriorFile> | null = null;
  for (;;) {
    const m = await session.messages.next();
    if (m === undefined) throw new RpcError(grpc.status.CANCELLED, "the master closed the call before the index was complete");
    if (m.msg === "knownChunks") for (const id of m.knownChunks.ids) known.add(idToHex(id));
    else if (m.msg === "baseFiles") {
      prior ??= new Map();
      for (const f of m.baseFiles.files) prior.set(f.path, { size: f.size, mtimeNs: f.mtimeNs, ctimeNs: f.ctimeNs, ino: f.ino });
    } else if (m.msg === "indexComplete") return { known, prior };
    else if (m.msg === "cancel") return null;
    else throw new RpcError(grpc.status.INVALID_ARGUMENT, `unexpected ${m.msg} before indexComplete`);
  }
}

/** Reads the master's acks (credit back into the window) and its cancel until it half-closes. */
function followAcks(session: BackupSession, window: CreditWindow): Promise<void> {
  return (async () => {
    for await (const m of session.messages) {
      if (m.msg === "ack") window.release(m.ack.bytes);
      else if (m.msg === "cancel") window.fail(new RpcError(grpc.status.CANCELLED, `the master cancelled: ${m.cancel.reason}`));
    }
  })().catch((e: unknown) => window.fail(e as Error));
}

function openEvents(src: BackupSource, req: CheckedRequest, index: MasterIndex, tally: BackupTally, jobLog: Logger): AsyncGenerator<SourceEvent> {
  const isKnown = (id: string) => index.known.has(id);
  return req.dbBackup
    ? // A dump is always complete: the level only labels the snapshot, so `prior` is not used.
      req.dbBackup.events({ isKnown, onProgress: tally.onProgress, onToolStart: (tool, pid) => jobLog.info({ tool, pid }, "dump tool started") })
    : backupFsSource({ root: req.root, excludes: src.excludes, codec: req.codec }, { isKnown, prior: src.level === "full" ? null : index.prior, onProgress: tally.onProgress });
}

/** The counts `done` reports, and the progress the loop and the heartbeat send. */
class BackupTally {
  readonly stats = { files: 0, dirs: 0, otherEntries: 0, bytesTotal: 0, bytesRead: 0, bytesSent: 0, chunksTotal: 0, chunksSent: 0, warnings: 0 };
  entries = 0;
  currentPath = "";

  readonly onProgress = (p: BackupProgress): void => {
    this.stats.bytesRead = p.bytesRead;
    this.currentPath = p.currentPath;
  };

  countEntry(e: Entry): void {
    this.entries++;
    if (e.type === "file") {
      this.stats.files++;
      this.stats.bytesTotal += e.size;
      this.stats.chunksTotal += e.chunks?.length ?? 0;
    } else if (e.type === "dir") this.stats.dirs++;
    else this.stats.otherEntries++;
  }

  progress(): BackupResponse {
    return { msg: "progress", progress: { entries: this.entries, bytesRead: this.stats.bytesRead, bytesSent: this.stats.bytesSent, currentPath: this.currentPath } };
  }
}

/** The hot loop: each event to the wire (entries batched by the sender), chunks only once the window has room for them. */
async function sendEvents(
  signal: AbortSignal,
  sender: BackupSender,
  events: AsyncGenerator<SourceEvent>,
  window: CreditWindow,
  tally: BackupTally,
  jobLog: Logger,
  warningCode: "dump" | "file",
): Promise<void> {
  const stats = tally.stats;
  let lastProgress = 0;
  for await (const ev of events) {
    if (signal.aborted) throw new RpcError(grpc.status.CANCELLED, "the call was cancelled");
    if (ev.kind === "chunk") {
      // The master stores the entries before this chunk while we wait for credit.
      await sender.flush();
      await window.acquire(ev.data.length);
      stats.bytesSent += ev.data.length;
      stats.chunksSent++;
      await sender.send({ msg: "chunk", chunk: { id: hexToId(ev.id), plainLength: ev.plainLen, codec: ev.codec, data: ev.data, error: "" } });
    } else if (ev.kind === "entry") {
      tally.countEntry(ev.entry);
      await sender.entry(entryToWire(ev.entry, ev.unchanged));
    } else {
      stats.warnings++;
      jobLog.warn({ file: ev.path }, ev.message);
      await sender.send({ msg: "warning", warning: { path: ev.path, code: warningCode, message: ev.message } });
    }
    const now = Date.now();
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      await sender.send(tally.progress());
    }
  }
}
