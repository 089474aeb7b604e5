/**
 * Serves one Restore call: entries and chunks arrive from the master, chunks possibly out of order and
 * several in flight. Each chunk is decoded and verified against its SHA-256 before a byte of it is
 * written; a damaged or missing chunk fails only the file that needs it (reported as a warning).
 */
import * as grpc from "@grpc/grpc-js";
import { decodeVerified, DamagedChunkError, type Entry } from "@pullback/common";
import { entryFromWire, idToHex, RpcError, type Chunk as WireChunk, type Entry as WireEntry, type RestoreSession } from "@pullback/common/rpc/index";
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
  const r = new FileRestore(writer, session, special, jobLog);
  // Applying directory metadata after the last chunk can take long on a big tree: stay visibly alive.
  const heartbeat = startHeartbeat(heartbeatSeconds, session.signal, () =>
    session.send({ msg: "progress", progress: { entriesDone: r.entries, bytesWritten: r.bytesWritten, currentPath: "" } }),
  );
  for (;;) {
    const m = await session.messages.next();
    if (m === undefined) throw new RpcError(grpc.status.CANCELLED, "the master closed the call before the end of the restore");
    if (m.msg === "cancel") throw new RpcError(grpc.status.CANCELLED, `the master cancelled: ${m.cancel.reason}`);
    if (m.msg === "end") break;
    if (m.msg === "entry") await r.entry(m.entry);
    else if (m.msg === "chunk") await r.chunk(m.chunk);
    else throw new RpcError(grpc.status.INVALID_ARGUMENT, `unexpected ${m.msg} during a restore`);
  }
  await r.finish();
  heartbeat.stop();
  await session.send({ msg: "done", done: { entries: r.entries, bytesWritten: r.bytesWritten, warnings: r.warnings } });
  jobLog.info({ entries: r.entries, bytesWritten: r.bytesWritten, warnings: r.warnings }, "restore finished");
}

/** What one file restore keeps between messages: the files still open and which chunk fills what. */
class FileRestore {
  /** Each Chunk message fills exactly one placement, in the order the entries named them. */
  private readonly placements = new Map<string, Placement[]>();
  entries = 0;
  bytesWritten = 0;
  warnings = 0;

  constructor(
    private readonly writer: RestoreWriter,
    private readonly session: RestoreSession,
    private readonly special: SpecialNotice[],
    private readonly log: Logger,
  ) {}

  async entry(w: WireEntry): Promise<void> {
    this.entries++;
    try {
      const e: Entry = entryFromWire(w);
      if (e.type !== "file") {
        await this.writer.entry(e);
        await this.reportSpecial();
        return;
      }
      const sink = await this.writer.openFile(e);
      await this.reportSpecial();
      const f: OpenFile = { path: e.path, sink, remaining: e.chunks?.length ?? 0, failed: false };
      if (f.remaining === 0) await sink.close();
      for (const c of e.chunks ?? []) this.place(c.id, { file: f, off: c.off, len: c.len });
    } catch (err) {
      // A refused path (escape attempt, symlinked parent) or an unwritable file: skip it, keep going.
      // Its chunks will still arrive: account for them so they are acknowledged and dropped.
      await this.warn(w.path, (err as Error).message);
      const skipped: OpenFile = { path: w.path, sink: NULL_SINK, remaining: w.chunks.length, failed: true };
      for (const c of w.chunks) this.place(idToHex(c.id), { file: skipped, off: c.off, len: c.len });
    }
  }

  async chunk(c: WireChunk): Promise<void> {
    const id = idToHex(c.id);
    const p = this.placements.get(id)?.shift();
    if (!p) throw new RpcError(grpc.status.INVALID_ARGUMENT, `chunk ${id} was not announced by any entry`);
    if (this.placements.get(id)?.length === 0) this.placements.delete(id);
    if (!p.file.failed && c.error) {
      // The master could not read this chunk from its store; its message already says what to do.
      p.file.failed = true;
      await this.warn(p.file.path, `${p.file.path}: ${c.error}`);
    } else if (!p.file.failed) {
      try {
        const plain = decodeVerified(id, c.codec, Buffer.from(c.data), c.plainLength);
        // The entry placed a different length: whatever the chunk holds, it is not what this file needs.
        if (plain.length !== p.len) throw new DamagedChunkError(id, "hash-mismatch", "content does not match its SHA-256");
        await p.file.sink.write(p.off, plain);
        this.bytesWritten += plain.length;
      } catch (err) {
        p.file.failed = true;
        await this.warn(p.file.path, `${p.file.path}: ${(err as Error).message}`);
      }
    }
    await this.settle(p.file);
    // Credit goes back only once the bytes are on disk, so the window bounds unwritten data.
    await this.session.send({ msg: "ack", ack: { chunkIds: [c.id], bytes: c.data.length } });
  }

  /** After the last message: files still short of chunks fail, then directory metadata is applied. */
  async finish(): Promise<void> {
    for (const list of this.placements.values()) {
      for (const p of list) {
        if (p.file.failed) continue;
        p.file.failed = true;
        await this.warn(p.file.path, "the master ended the restore before sending all of this file's chunks");
        await p.file.sink.abort();
      }
    }
    for (const problem of await this.writer.finish()) await this.warn(problem.slice(0, problem.indexOf(":")), problem);
    await this.reportSpecial();
  }

  private place(id: string, p: Placement): void {
    const list = this.placements.get(id) ?? [];
    list.push(p);
    this.placements.set(id, list);
  }

  private async settle(f: OpenFile): Promise<void> {
    if (--f.remaining > 0) return;
    if (f.failed) await f.sink.abort();
    else await f.sink.close();
  }

  private async warn(path: string, message: string): Promise<void> {
    this.warnings++;
    this.log.warn({ file: path }, message);
    await this.session.send({ msg: "warning", warning: { path, code: "restore", message } });
  }

  /** Not counted as warnings: the restore did what it should, the operator is told what differs. */
  private async reportSpecial(): Promise<void> {
    for (const n of this.special.splice(0)) {
      this.log.info({ file: n.path }, n.message);
      await this.session.send({ msg: "warning", warning: { path: n.path, code: SPECIAL_WARNING_CODE, message: n.message } });
    }
  }
}

const NULL_SINK: FileSink = { write: async () => undefined, close: async () => undefined, abort: async () => undefined };
