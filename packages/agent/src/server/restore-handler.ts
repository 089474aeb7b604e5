/**
 * Serves one Restore call: entries and chunks arrive from the master, chunks possibly out of order and
 * several in flight. Each chunk is decoded and verified against its SHA-256 before a byte of it is
 * written; a damaged or missing chunk fails only the file that needs it (reported as a warning).
 */
import * as grpc from "@grpc/grpc-js";
import { chunkId, decompress, type CodecName, type Entry } from "@pullback/common";
import { entryFromWire, idToHex, RpcError, type RestoreSession } from "@pullback/common/rpc/index";
import type { Logger } from "@pullback/common";
import { checkAllowed } from "../config/allowlist.js";
import { NotAllowedError } from "../errors.js";
import type { AgentConfig } from "../config/agent-config.js";
import { RestoreWriter, type FileSink } from "../restore/restore-writer.js";
import { SPECIAL_WARNING_CODE, type SpecialNotice } from "../restore/special-files.js";
import { handleDbRestore } from "../restore/db-restore-handler.js";
import { isDbKind } from "../sources/db-backup-request.js";
import { startHeartbeat } from "./heartbeat.js";

interface OpenFile {
  path: string;
  sink: FileSink;
  remaining: number;
  failed: boolean;
}

interface Placement {
  file: OpenFile;
  off: number;
  len: number;
}

const CODECS: ReadonlySet<string> = new Set<CodecName>(["none", "lz4", "zstd"]);

export async function handleRestore(session: RestoreSession, cfg: AgentConfig, log: Logger): Promise<void> {
  const start = session.start;
  if (isDbKind(start.sourceType)) return handleDbRestore(session, start.sourceType, cfg, log);
  if (start.sourceType !== "fs") throw new RpcError(grpc.status.UNIMPLEMENTED, `restoring ${start.sourceType} sources is not supported by this agent`);
  let target: string;
  try {
    target = await checkAllowed("restore", start.targetDir, cfg.restore.allow);
  } catch (err) {
    if (err instanceof NotAllowedError) throw new RpcError(grpc.status.PERMISSION_DENIED, err.message);
    throw err;
  }
  const jobLog = log.child({ job: start.jobId, snapshot: start.snapshotId, target });
  const special: SpecialNotice[] = [];
  const writer = new RestoreWriter(target, {
    owners: (start.options?.restoreOwner ?? true) && process.getuid?.() === 0,
    overwrite: start.options?.overwrite ?? false,
    // Absent (a master that predates the field) is false: the safe side.
    keepSpecial: start.options?.keepSpecial ?? false,
    onSpecial: (n) => special.push(n),
  });
  await writer.begin();
  try {
    await restoreInto(writer, session, special, jobLog, cfg.heartbeatSeconds);
  } finally {
    writer.close();
  }
}

async function restoreInto(writer: RestoreWriter, session: RestoreSession, special: SpecialNotice[], jobLog: Logger, heartbeatSeconds: number): Promise<void> {
  await session.accept();

  // Each Chunk message fills exactly one placement, in the order the entries named them.
  const placements = new Map<string, Placement[]>();
  let entries = 0;
  let bytesWritten = 0;
  let warnings = 0;
  // Applying directory metadata after the last chunk can take long on a big tree: stay visibly alive.
  const heartbeat = startHeartbeat(heartbeatSeconds, session.signal, () => session.send({ msg: "progress", progress: { entriesDone: entries, bytesWritten, currentPath: "" } }));
  const warn = async (path: string, message: string) => {
    warnings++;
    jobLog.warn({ file: path }, message);
    await session.send({ msg: "warning", warning: { path, code: "restore", message } });
  };
  // Not counted as warnings: the restore did what it should, the operator is told what differs.
  const reportSpecial = async () => {
    for (const n of special.splice(0)) {
      jobLog.info({ file: n.path }, n.message);
      await session.send({ msg: "warning", warning: { path: n.path, code: SPECIAL_WARNING_CODE, message: n.message } });
    }
  };
  const settle = async (f: OpenFile) => {
    if (--f.remaining > 0) return;
    if (f.failed) await f.sink.abort();
    else await f.sink.close();
  };

  for (;;) {
    const m = await session.messages.next();
    if (m === undefined) throw new RpcError(grpc.status.CANCELLED, "the master closed the call before the end of the restore");
    if (m.msg === "cancel") throw new RpcError(grpc.status.CANCELLED, `the master cancelled: ${m.cancel.reason}`);
    if (m.msg === "end") break;
    if (m.msg === "entry") {
      entries++;
      let e: Entry;
      try {
        e = entryFromWire(m.entry);
        if (e.type !== "file") {
          await writer.entry(e);
          await reportSpecial();
          continue;
        }
        const sink = await writer.openFile(e);
        await reportSpecial();
        const f: OpenFile = { path: e.path, sink, remaining: e.chunks?.length ?? 0, failed: false };
        if (f.remaining === 0) await sink.close();
        for (const c of e.chunks ?? []) {
          const list = placements.get(c.id) ?? [];
          list.push({ file: f, off: c.off, len: c.len });
          placements.set(c.id, list);
        }
      } catch (err) {
        // A refused path (escape attempt, symlinked parent) or an unwritable file: skip it, keep going.
        // Its chunks will still arrive: account for them so they are acknowledged and dropped.
        await warn(m.entry.path, (err as Error).message);
        const skipped: OpenFile = { path: m.entry.path, sink: NULL_SINK, remaining: m.entry.chunks.length, failed: true };
        for (const c of m.entry.chunks) {
          const id = idToHex(c.id);
          const list = placements.get(id) ?? [];
          list.push({ file: skipped, off: c.off, len: c.len });
          placements.set(id, list);
        }
      }
      continue;
    }
    if (m.msg === "chunk") {
      const id = idToHex(m.chunk.id);
      const p = placements.get(id)?.shift();
      if (!p) throw new RpcError(grpc.status.INVALID_ARGUMENT, `chunk ${id} was not announced by any entry`);
      if (placements.get(id)?.length === 0) placements.delete(id);
      // Credit goes back only once the bytes are on disk, so the window bounds unwritten data.
      const ack = () => session.send({ msg: "ack", ack: { chunkIds: [m.chunk.id], bytes: m.chunk.data.length } });
      if (p.file.failed) {
        await settle(p.file);
        await ack();
        continue;
      }
      try {
        if (m.chunk.error) throw new Error(m.chunk.error);
        if (!CODECS.has(m.chunk.codec)) throw new Error(`chunk ${id} has unknown codec ${m.chunk.codec}`);
        let plain: Buffer;
        try {
          plain = decompress(m.chunk.codec as CodecName, Buffer.from(m.chunk.data), m.chunk.plainLength);
        } catch (err) {
          throw new Error(`chunk ${id} is damaged (cannot decode: ${(err as Error).message})`);
        }
        if (plain.length !== p.len || chunkId(plain) !== id) throw new Error(`chunk ${id} is damaged (content does not match its SHA-256)`);
        await p.file.sink.write(p.off, plain);
        bytesWritten += plain.length;
      } catch (err) {
        p.file.failed = true;
        await warn(p.file.path, `${p.file.path}: ${(err as Error).message}`);
      }
      await settle(p.file);
      await ack();
      continue;
    }
    throw new RpcError(grpc.status.INVALID_ARGUMENT, `unexpected ${m.msg} during a restore`);
  }
  if (placements.size > 0) {
    for (const list of placements.values()) for (const p of list) if (!p.file.failed) {
      p.file.failed = true;
      await warn(p.file.path, "the master ended the restore before sending all of this file's chunks");
      await p.file.sink.abort();
    }
  }
  for (const problem of await writer.finish()) await warn(problem.slice(0, problem.indexOf(":")), problem);
  await reportSpecial();
  heartbeat.stop();
  await session.send({ msg: "done", done: { entries, bytesWritten, warnings } });
  jobLog.info({ entries, bytesWritten, warnings }, "restore finished");
}

const NULL_SINK: FileSink = { write: async () => undefined, close: async () => undefined, abort: async () => undefined };
