/**
 * How the master talks to a node. The in-process link (the master's own machine) and the gRPC link
 * (a remote agent) produce the same events, so the job runner and the snapshot writer cannot tell
 * them apart — and validate both the same way.
 */
import type { BackupLevel, BackupProgress, CodecSpec, Entry, PriorFile, SourceEvent } from "@pullback/common";
import type { ChunkStore } from "../store/chunk-store.js";
import type { JsonObject, SourceType } from "../catalog/index.js";

export interface BackupRequest {
  sourceName: string;
  sourceType: SourceType;
  config: JsonObject;
  codec: CodecSpec;
  level: BackupLevel;
  prior: ReadonlyMap<string, PriorFile> | null;
  knownChunks: ReadonlySet<string>;
}

export interface BackupStream {
  events: AsyncIterable<SourceEvent>;
  /** What the node read from disk; final once `events` is exhausted. */
  bytesRead(): number;
}

export interface NodeLink {
  backup(req: BackupRequest, onProgress: (p: BackupProgress) => void): BackupStream;
  close(): Promise<void>;
}

export interface RemoteRestoreRequest {
  snapshotId: string;
  /** "fs" writes files under `target`; "mysql"/"postgres" replays the dump into the server. */
  sourceType: SourceType;
  target: string;
  /** Databases: the agent-side connection to restore into. */
  params?: Record<string, string>;
  overwrite: boolean;
  /** Restore setuid/setgid bits and device nodes as they are (see restore/special-files.ts). */
  keepSpecial: boolean;
  /** Manifest entries to restore, already filtered, parents before children. */
  entries: AsyncIterable<Entry>;
  totalEntries: number;
  totalBytes: number;
  store: ChunkStore;
  concurrency?: number;
  onProgress?(p: { files: number; bytesWritten: number }): void;
}

export interface RemoteRestoreResult {
  entries: number;
  bytesWritten: number;
  /** One line per file that could not be restored, naming the file and the reason. */
  errors: string[];
  /** One line per setuid/setgid bit stripped or device node skipped (not errors: the safe default). */
  special: string[];
}
