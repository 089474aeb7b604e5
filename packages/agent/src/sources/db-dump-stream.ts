/**
 * Streams one dump tool's stdout through the chunker and emits its chunks, then returns the file
 * entry that references them. The tool writes into a pipe we read only as fast as the master takes
 * chunks, so a dump of any size costs one chunk buffer of memory and no disk on the node.
 */
import type { Readable } from "node:stream";
import {
  chunkId,
  chunkStream,
  compress,
  type BackupProgress,
  type ChunkerParams,
  type ChunkRef,
  type CodecSpec,
  type Entry,
  type SourceEvent,
} from "@pullback/common";
import { DbToolError } from "../errors.js";
import { errorLines, startTool, type ToolCommand } from "./db-tools.js";

export interface DumpStreamContext {
  codec: CodecSpec;
  params: ChunkerParams;
  buffer: Buffer;
  isKnown(id: string): boolean;
  /** Chunks already emitted in this backup (a dump repeats itself more than a file tree does). */
  sent: Set<string>;
  progress: BackupProgress;
  onProgress?(p: BackupProgress): void;
  /** Called with the tool's pid once it runs (logging; tests use it to kill a dump halfway). */
  onToolStart?(tool: string, pid: number): void;
}

/** Adapts a Readable to the chunker's pull-style fill function, keeping the stream's backpressure. */
function pullReader(stream: Readable): (buf: Buffer, off: number, len: number) => Promise<number> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;
  return async (buf, off, len) => {
    let n = 0;
    while (n < len) {
      if (pending.length === 0) {
        // Return what we have rather than wait: the chunker calls again when it needs more.
        if (ended || n > 0) break;
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        pending = r.value;
      }
      const take = Math.min(pending.length, len - n);
      pending.copy(buf, off + n, 0, take);
      pending = pending.subarray(take);
      n += take;
    }
    return n;
  };
}

function nowNs(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

/** A dump file's entry: private to its owner, since a dump holds every row of the database. */
export function dumpEntry(path: string, size: number, chunks: ChunkRef[]): Entry {
  const t = nowNs();
  return {
    path,
    type: "file",
    mode: 0o600,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    mtimeNs: t,
    atimeNs: t,
    ctimeNs: t,
    size,
    ino: 0,
    dev: 0,
    chunks,
  };
}

export async function* streamDump(cmd: ToolCommand, path: string, ctx: DumpStreamContext): AsyncGenerator<SourceEvent, Entry> {
  const what = `dump ${path}`;
  const tool = await startTool(cmd, "ignore", what);
  if (tool.child.pid !== undefined) ctx.onToolStart?.(cmd.tool, tool.child.pid);
  const chunks: ChunkRef[] = [];
  let size = 0;
  let finished = false;
  ctx.progress.currentPath = path;
  try {
    const fill = pullReader(tool.child.stdout!);
    const counted = async (buf: Buffer, off: number, len: number) => {
      const n = await fill(buf, off, len);
      ctx.progress.bytesRead += n;
      return n;
    };
    for await (const piece of chunkStream(counted, { params: ctx.params, detectHoles: false, buffer: ctx.buffer })) {
      if (piece.kind !== "data") continue;
      const id = chunkId(piece.data);
      if (!ctx.sent.has(id) && !ctx.isKnown(id)) {
        const c = compress(piece.data, ctx.codec);
        // "none" returns a view into the reused chunk buffer: copy before it is overwritten.
        const data = c.codec === "none" ? Buffer.from(c.data) : c.data;
        ctx.sent.add(id);
        yield { kind: "chunk", id, codec: c.codec, plainLen: piece.data.length, data };
      }
      chunks.push({ id, off: piece.offset, len: piece.data.length });
      size = piece.offset + piece.data.length;
      ctx.onProgress?.(ctx.progress);
    }
    // EOF on stdout is not success: only the exit status says the dump is complete.
    const { stderr } = await tool.done;
    finished = true;
    const errors = errorLines(stderr);
    if (errors.length) throw new DbToolError(`${what}: ${cmd.tool} exited 0 but reported errors: ${errors.join("; ")}`, stderr);
    for (const line of stderr.split("\n").filter((l) => l.trim())) yield { kind: "warning", path, message: `${cmd.tool}: ${line.trim()}` };
    if (size === 0) throw new DbToolError(`${what}: ${cmd.tool} succeeded but wrote nothing`, stderr);
  } finally {
    // Failed, cancelled or abandoned by the consumer: the tool must not keep a transaction open.
    if (!finished) {
      tool.child.kill("SIGTERM");
      // Unread output would keep the pipe, and so the child's "close", pending forever.
      tool.child.stdout?.destroy();
      await tool.done.catch(() => undefined);
    }
  }
  ctx.progress.files++;
  return dumpEntry(path, size, chunks);
}
