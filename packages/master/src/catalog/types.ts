/**
 * Row types at the catalog's boundary. Callers get plain numbers, strings and Dates, never Prisma's
 * generated types or bigint: byte counts stay far below 2^53 and the rest of the master should not
 * have to care how the catalog is stored.
 */
import type { BackupLevel, EntryType, SnapshotRecord } from "@pullback/common";

export type SourceType = SnapshotRecord["sourceType"];
export type JobKind = "backup" | "restore" | "prune" | "gc" | "verify";
export type JobStatus = "queued" | "running" | "succeeded" | "warning" | "failed" | "cancelled" | "skipped";
export type FinishedJobStatus = Exclude<JobStatus, "queued" | "running">;
export type SnapshotStatus = "complete" | "warning" | "damaged";
export type LogLevel = "debug" | "info" | "warn" | "error";

/** JSON as stored in jsonb columns. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What the catalog logs through; a pino logger fits. */
export interface CatalogLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface NodeRow {
  id: number;
  name: string;
  address: string | null;
  createdAt: Date;
  /** Store bytes the node may add; null for no limit. */
  quotaBytes: number | null;
  /** Stored bytes of the chunks the node added that GC has not deleted (see docs/decisions.md). */
  usedBytes: number;
}

export interface SourceRow {
  id: number;
  nodeId: number;
  node: string;
  name: string;
  type: SourceType;
  config: JsonObject;
  codec: string;
}

export interface JobRow {
  id: number;
  kind: JobKind;
  node: string | null;
  source: string | null;
  requestedLevel: BackupLevel | null;
  level: BackupLevel | null;
  status: JobStatus;
  params: JsonObject;
  snapshotId: string | null;
  attempt: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  phase: string | null;
  progress: number | null;
  filesDone: number;
  bytesDone: number;
  bytesTotal: number | null;
  bytesRead: number;
  bytesNew: number;
  bytesStored: number;
  bytesSent: number;
  warnings: string[];
  error: string | null;
}

export interface JobLogRow {
  id: number;
  jobId: number;
  at: Date;
  level: LogLevel;
  message: string;
}

export interface SnapshotRow {
  id: string;
  node: string;
  source: string;
  sourceType: SourceType;
  /** Per-source sequence number: increases in recording order and is never reused. */
  seq: number;
  level: BackupLevel;
  requestedLevel: BackupLevel;
  baseId: string | null;
  startedAt: Date;
  finishedAt: Date;
  codec: string;
  fileCount: number;
  dirCount: number;
  otherCount: number;
  bytesTotal: number;
  bytesRead: number;
  bytesNew: number;
  bytesStored: number;
  bytesSent: number;
  chunksTotal: number;
  chunksNew: number;
  manifest: SnapshotRecord["manifest"];
  warnings: string[];
  status: SnapshotStatus;
  error: string | null;
  protected: boolean;
}

/** One version of a path as the file index keeps it (not the full manifest entry). */
export interface FileVersionRow {
  node: string;
  source: string;
  path: string;
  type: EntryType;
  size: number;
  /** Nanoseconds since the epoch, decimal string as in the manifest. */
  mtimeNs: string;
  mode: number;
  uid: number;
  gid: number;
  target: string | null;
  /** Hex SHA-256 over the entry's chunk and hole list; equal fingerprints mean equal content. */
  fingerprint: string | null;
  fromSeq: number;
  toSeq: number | null;
  /** Snapshots of this source that contain this version, oldest first (files.versions only). */
  snapshots?: string[];
}

export interface RecordResult {
  snapshot: SnapshotRow;
  /** False when the snapshot id was already recorded and nothing was written. */
  created: boolean;
  entries: number;
  /** File index rows opened (new or changed paths) and closed (changed or vanished paths). */
  rowsInserted: number;
  rowsClosed: number;
}

export interface JobProgress {
  phase?: string;
  progress?: number | null;
  filesDone?: number;
  bytesDone?: number;
  bytesTotal?: number | null;
  bytesRead?: number;
  bytesNew?: number;
  bytesStored?: number;
  bytesSent?: number;
}

export interface JobFinishStats extends JobProgress {
  level?: BackupLevel;
  snapshotId?: string;
  warnings?: string[];
}
