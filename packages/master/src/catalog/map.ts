/** Converts Prisma's rows (bigint, Uint8Array, loose JSON) into the catalog's boundary types. */
import type { SnapshotRecord } from "@pullback/common";
import type { FileVersion, Job, JobLog, Node, Snapshot, Source } from "./generated/client.js";
import type { FileVersionRow, JobLogRow, JobRow, JsonObject, NodeRow, SnapshotRow, SourceRow } from "./types.js";

/** bigint columns hold byte counts and ids far below 2^53; refuse rather than round if that ever fails. */
export function num(value: bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`catalog value ${value} exceeds 2^53`);
  return n;
}

export function numOrNull(value: bigint | null): number | null {
  return value === null ? null : num(value);
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function jsonObject(value: unknown): JsonObject {
  return isJsonObject(value) ? value : {};
}

export function toNodeRow(n: Node): NodeRow {
  return {
    id: n.id,
    name: n.name,
    address: n.address,
    createdAt: n.createdAt,
    quotaBytes: n.quotaBytes === null ? null : num(n.quotaBytes),
    usedBytes: num(n.usedBytes),
  };
}

export function toSourceRow(s: Source & { node: Node }): SourceRow {
  return {
    id: s.id,
    nodeId: s.nodeId,
    node: s.node.name,
    name: s.name,
    type: s.type,
    config: jsonObject(s.config),
    codec: s.codec,
  };
}

export function toJobRow(j: Job & { node: Node | null; source: Source | null }): JobRow {
  return {
    id: j.id,
    kind: j.kind,
    node: j.node?.name ?? null,
    source: j.source?.name ?? null,
    requestedLevel: j.requestedLevel,
    level: j.level,
    status: j.status,
    params: jsonObject(j.params),
    snapshotId: j.snapshotId,
    attempt: j.attempt,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    phase: j.phase,
    progress: j.progress,
    filesDone: num(j.filesDone),
    bytesDone: num(j.bytesDone),
    bytesTotal: numOrNull(j.bytesTotal),
    bytesRead: num(j.bytesRead),
    bytesNew: num(j.bytesNew),
    bytesStored: num(j.bytesStored),
    bytesSent: num(j.bytesSent),
    warnings: j.warnings,
    error: j.error,
  };
}

export function toJobLogRow(l: JobLog): JobLogRow {
  return { id: num(l.id), jobId: l.jobId, at: l.at, level: l.level, message: l.message };
}

function manifestOf(value: unknown): SnapshotRecord["manifest"] {
  const m = jsonObject(value);
  const chunks = Array.isArray(m.chunks) ? m.chunks.filter((c): c is string => typeof c === "string") : [];
  return {
    chunks,
    entries: typeof m.entries === "number" ? m.entries : 0,
    bytes: typeof m.bytes === "number" ? m.bytes : 0,
    sha256: typeof m.sha256 === "string" ? m.sha256 : "",
  };
}

export function toSnapshotRow(s: Snapshot & { node: Node; source: Source }): SnapshotRow {
  return {
    id: s.id,
    node: s.node.name,
    source: s.source.name,
    sourceType: s.source.type,
    seq: s.seq,
    level: s.level,
    requestedLevel: s.requestedLevel,
    baseId: s.baseId,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    codec: s.codec,
    fileCount: s.fileCount,
    dirCount: s.dirCount,
    otherCount: s.otherCount,
    bytesTotal: num(s.bytesTotal),
    bytesRead: num(s.bytesRead),
    bytesNew: num(s.bytesNew),
    bytesStored: num(s.bytesStored),
    bytesSent: num(s.bytesSent),
    chunksTotal: s.chunksTotal,
    chunksNew: s.chunksNew,
    manifest: manifestOf(s.manifest),
    warnings: s.warnings,
    status: s.status,
    error: s.error,
    protected: s.protected,
  };
}

export function toFileVersionRow(f: FileVersion, node: string, source: string): FileVersionRow {
  return {
    node,
    source,
    path: f.path,
    type: f.type,
    size: num(f.size),
    mtimeNs: f.mtimeNs.toString(),
    mode: f.mode,
    uid: num(f.uid),
    gid: num(f.gid),
    target: f.target,
    fingerprint: f.fingerprint ? Buffer.from(f.fingerprint).toString("hex") : null,
    fromSeq: f.fromSeq,
    toSeq: f.toSeq,
  };
}

/** The relations a job or snapshot row names (node and source by name). */
export const nodeAndSource = { node: true, source: true } as const;
