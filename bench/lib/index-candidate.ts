/** What every chunk index candidate offers the bench: build from the ids, then answer batches. */
import type { Probe } from "./index-ids.js";

export interface IndexCandidate {
  /** Loads `n` ids (back to back in `ids`): what rebuilding the index from the store would do. */
  build(ids: Buffer, n: number): Promise<void>;
  /** Closes and opens the built index again, for an index on disk that a restart would reopen. */
  reopen?(): Promise<void>;
  /** How many of the batch's ids the index holds (a real index would return which). */
  lookup(batch: Probe): Promise<number>;
  /** Bytes on disk, or undefined for an index that lives in memory only. */
  diskBytes(): Promise<number | undefined>;
  close(): Promise<void>;
}
