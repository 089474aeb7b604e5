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
  type PriorFile,
  type SourceEvent,
} from "@pullback/common";
import { CreditWindow, DEFAULT_WINDOW_BYTES, entryToWire, hexToId, idToHex, RpcError, type BackupSession } from "@pullback/common/rpc/index";
import type { Logger } from "@pullback/common";
import { checkAllowed } from "../config/allowlist.js";
import { NotAllowedError } from "../errors.js";
import type { AgentConfig } from "../config/agent-config.js";
import { backupFsSource } from "../sources/fs-source.js";
import { isDbKind, prepareDbBackup } from "../sources/db-backup-request.js";
import { startHeartbeat } from "./heartbeat.js";

const PROGRESS_EVERY_MS = 1000;

export async function handleBackup(session: BackupSession, cfg: AgentConfig, log: Logger): Promise<void> {
  const src = session.start.source;
  if (!src) throw new RpcError(grpc.status.INVALID_ARGUMENT, "BackupStart has no source");
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
  const jobLog = log.child({ job: session.start.jobId, source: src.name, ...(dbBackup ? { connection: dbBackup.connection } : { path: root }) });
  await session.accept();

  // The index must be whole before anything is read: it decides what may be skipped.
  const known = new Set<string>();
  let prior: Map<string, PriorFile> | null = null;
  for (;;) {
    const m = await session.messages.next();
    if (m === undefined) throw new RpcError(grpc.status.CANCELLED, "the master closed the call before the index was complete");
    if (m.msg === "knownChunks") for (const id of m.knownChunks.ids) known.add(idToHex(id));
    else if (m.msg === "baseFiles") {
      prior ??= new Map();
      for (const f of m.baseFiles.files) prior.set(f.path, { size: f.size, mtimeNs: f.mtimeNs, ctimeNs: f.ctimeNs, ino: f.ino });
    } else if (m.msg === "indexComplete") break;
    else if (m.msg === "cancel") return;
    else throw new RpcError(grpc.status.INVALID_ARGUMENT, `unexpected ${m.msg} before indexComplete`);
  }
  if (src.level !== "full" && prior === null && session.start.baseFileCount > 0) {
    throw new RpcError(grpc.status.INVALID_ARGUMENT, "the master announced base files but sent none");
  }
  jobLog.info({ level: src.level, known: known.size, baseFiles: prior?.size ?? 0 }, "backup started");

  const window = new CreditWindow(Number(session.start.windowBytes) || DEFAULT_WINDOW_BYTES);
  const acks = (async () => {
    for await (const m of session.messages) {
      if (m.msg === "ack") window.release(m.ack.bytes);
      else if (m.msg === "cancel") window.fail(new RpcError(grpc.status.CANCELLED, `the master cancelled: ${m.cancel.reason}`));
    }
  })().catch((e: unknown) => window.fail(e as Error));
  session.signal.addEventListener("abort", () => window.fail(new RpcError(grpc.status.CANCELLED, "the call was cancelled")));

  const stats = { files: 0, dirs: 0, otherEntries: 0, bytesTotal: 0, bytesRead: 0, bytesSent: 0, chunksTotal: 0, chunksSent: 0, warnings: 0 };
  let lastProgress = 0;
  let entries = 0;
  let currentPath = "";
  const onProgress = (p: BackupProgress) => {
    stats.bytesRead = p.bytesRead;
    currentPath = p.currentPath;
  };
  const events: AsyncGenerator<SourceEvent> = dbBackup
    ? // A dump is always complete: the level only labels the snapshot, so `prior` is not used.
      dbBackup.events({ isKnown: (id) => known.has(id), onProgress, onToolStart: (tool, pid) => jobLog.info({ tool, pid }, "dump tool started") })
    : backupFsSource({ root, excludes: src.excludes, codec }, { isKnown: (id) => known.has(id), prior: src.level === "full" ? null : prior, onProgress });
  const heartbeat = startHeartbeat(cfg.heartbeatSeconds, session.signal, () =>
    session.send({ msg: "progress", progress: { entries, bytesRead: stats.bytesRead, bytesSent: stats.bytesSent, currentPath } }),
  );
  try {
    for await (const ev of events) {
      if (session.signal.aborted) throw new RpcError(grpc.status.CANCELLED, "the call was cancelled");
      if (ev.kind === "chunk") {
        await window.acquire(ev.data.length);
        stats.bytesSent += ev.data.length;
        stats.chunksSent++;
        await session.send({ msg: "chunk", chunk: { id: hexToId(ev.id), plainLength: ev.plainLen, codec: ev.codec, data: ev.data, error: "" } });
      } else if (ev.kind === "entry") {
        entries++;
        const e = ev.entry;
        if (e.type === "file") {
          stats.files++;
          stats.bytesTotal += e.size;
          stats.chunksTotal += e.chunks?.length ?? 0;
        } else if (e.type === "dir") stats.dirs++;
        else stats.otherEntries++;
        await session.send({ msg: "entry", entry: entryToWire(e, ev.unchanged) });
      } else {
        stats.warnings++;
        jobLog.warn({ file: ev.path }, ev.message);
        await session.send({ msg: "warning", warning: { path: ev.path, code: dbBackup ? "dump" : "file", message: ev.message } });
      }
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        await session.send({ msg: "progress", progress: { entries, bytesRead: stats.bytesRead, bytesSent: stats.bytesSent, currentPath } });
      }
    }
  } finally {
    heartbeat.stop();
    await events.return(undefined);
  }
  await session.send({ msg: "done", done: { stats: { ...stats, level: src.level } } });
  jobLog.info(stats, "backup finished");
  // Returning ends the call; the master may still be acknowledging the last chunks, so wait until
  // it half-closes (bounded, so a vanished master cannot hold the call open forever).
  await Promise.race([acks, new Promise((r) => setTimeout(r, 60_000).unref())]);
}
