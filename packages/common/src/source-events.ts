/**
 * What a source on the agent produces during a backup, in order: the chunks of a file first, then
 * the file's entry that references them. The same events travel in-process (local backups, tests)
 * or as gRPC messages; the master validates them either way, because the node is not trusted.
 */
import type { CodecName } from "./codec.js";
import type { Entry } from "./manifest.js";

export interface ChunkEvent {
  kind: "chunk";
  id: string;
  codec: CodecName;
  plainLen: number;
  /** Encoded payload; owned by the receiver (never a view into a reused buffer). */
  data: Buffer;
}

export interface EntryEvent {
  kind: "entry";
  entry: Entry;
  /**
   * Set by an incremental or differential backup for a file whose size, mtime, ctime and inode match
   * the base snapshot: its data was not read, and the master takes chunks and holes from the base.
   */
  unchanged: boolean;
}

export interface WarningEvent {
  kind: "warning";
  path: string;
  message: string;
}

export type SourceEvent = ChunkEvent | EntryEvent | WarningEvent;

/** What the agent needs to know of the base snapshot to skip unchanged files. */
export interface PriorFile {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: number;
}

export interface BackupProgress {
  files: number;
  bytesRead: number;
  currentPath: string;
}
