/**
 * Serves a Restore call whose snapshot is a database dump: the same messages as a file restore, but
 * the bytes go, in order, into the server's client tool (see db-restore-sink.ts) instead of files.
 */
import * as grpc from "@grpc/grpc-js";
import { decodeVerified, DamagedChunkError, type Logger } from "@pullback/common";
import { entryFromWire, idToHex, RpcError, type Chunk as WireChunk, type RestoreSession } from "@pullback/common/rpc/index";
import type { AgentConfig } from "../config/agent-config.js";
import { DbConfigError, DbRestoreRefused, DbToolError } from "../errors.js";
import { findConnection, openConnection, type DbKind } from "../sources/db-connection.js";
import { DbRestoreSink } from "./db-restore-sink.js";
import { restoreTarget } from "./db-restore-target.js";
import { startHeartbeat } from "../server/heartbeat.js";

const PROGRESS_EVERY_MS = 1000;

/** Errors of this restore as the master should see them: a status and the reason, tool stderr included. */
export function dbRestoreRpcError(err: unknown): unknown {
  if (err instanceof DbRestoreRefused) return new RpcError(grpc.status.FAILED_PRECONDITION, err.message);
  if (err instanceof DbConfigError) return new RpcError(grpc.status.FAILED_PRECONDITION, err.message);
  if (err instanceof DbToolError) return new RpcError(grpc.status.ABORTED, err.message);
  return err;
}

export async function handleDbRestore(session: RestoreSession, kind: DbKind, cfg: AgentConfig, log: Logger): Promise<void> {
  const start = session.start;
  const { found, conn } = await openRestoreConnection(cfg, kind, start.params.connection);
  const jobLog = log.child({ job: start.jobId, snapshot: start.snapshotId, connection: found.name });
  const sink = new DbRestoreSink(restoreTarget(kind, conn, found.name, found.db.maintenanceDatabase), {
    kind,
    connection: found.name,
    overwrite: start.options?.overwrite ?? false,
    onToolStart: (tool, pid) => jobLog.info({ tool, pid }, "restore tool started"),
  });
  const position: RestorePosition = { entries: 0, currentPath: "" };
  const sendProgress = () =>
    session.send({ msg: "progress", progress: { entriesDone: position.entries, bytesWritten: sink.bytesWritten, currentPath: position.currentPath } });
  const heartbeat = startHeartbeat(cfg.heartbeatSeconds, session.signal, sendProgress);
  try {
    await session.accept();
    await receiveDump(session, sink, position, sendProgress);
    const r = await sink.finish();
    heartbeat.stop();
    if (sink.dropped.length) jobLog.warn({ dropped: sink.dropped }, "existing databases replaced (overwrite)");
    await session.send({ msg: "done", done: { entries: position.entries, bytesWritten: r.bytesWritten, warnings: 0 } });
    jobLog.info({ entries: position.entries, bytesWritten: r.bytesWritten }, "database restore finished");
  } catch (err) {
    await sink.abort();
    jobLog.error({ err: (err as Error).message }, "database restore failed");
    throw dbRestoreRpcError(err);
  } finally {
    heartbeat.stop();
    await conn.dispose();
  }
}

/** Where the restore is, for progress messages: entries taken and the last entry's path. */
interface RestorePosition {
  entries: number;
  currentPath: string;
}

/** The connection named in the request, refused unless the agent config allows restores through it. */
async function openRestoreConnection(cfg: AgentConfig, kind: DbKind, connection: string | undefined) {
  const found = (() => {
    try {
      return findConnection(cfg, kind, connection);
    } catch (err) {
      throw dbRestoreRpcError(err);
    }
  })();
  if (!found.db.allowRestore) {
    throw new RpcError(grpc.status.PERMISSION_DENIED, `connection ${found.name} does not allow restores on this node (set allowRestore: true under databases.${found.name} in the agent config)`);
  }
  const conn = await openConnection(found.name, found.db).catch((err: unknown) => {
    throw dbRestoreRpcError(err);
  });
  return { found, conn };
}

/** Feeds the master's entries and chunks into the sink, in order, until its `end`. */
async function receiveDump(session: RestoreSession, sink: DbRestoreSink, position: RestorePosition, sendProgress: () => Promise<void>): Promise<void> {
  let lastProgress = 0;
  for (;;) {
    const m = await session.messages.next();
    if (m === undefined) throw new RpcError(grpc.status.CANCELLED, "the master closed the call before the end of the restore");
    if (m.msg === "cancel") throw new RpcError(grpc.status.CANCELLED, `the master cancelled: ${m.cancel.reason}`);
    if (m.msg === "end") break;
    if (m.msg === "entry") {
      position.entries++;
      const e = entryFromWire(m.entry);
      position.currentPath = e.path;
      await sink.entry(e);
    } else if (m.msg === "chunk") {
      const id = idToHex(m.chunk.id);
      // Acknowledged once taken by the sink (written, or parked until its turn), so the window
      // never waits on a chunk the sink needs first.
      await sink.chunk(id, verifiedPlain(id, m.chunk));
      await session.send({ msg: "ack", ack: { chunkIds: [m.chunk.id], bytes: m.chunk.data.length } });
    } else {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `unexpected ${m.msg} during a restore`);
    }
    const now = Date.now();
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      await sendProgress();
    }
  }
}

/** Unlike a file restore, a damaged chunk fails everything: a dump with a gap cannot be replayed. */
function verifiedPlain(id: string, chunk: WireChunk): Buffer {
  if (chunk.error) throw new DbRestoreRefused(`chunk ${id} could not be read on the master: ${chunk.error}`);
  try {
    return decodeVerified(id, chunk.codec, Buffer.from(chunk.data), chunk.plainLength);
  } catch (err) {
    throw err instanceof DamagedChunkError ? new DbRestoreRefused(err.message) : err;
  }
}
