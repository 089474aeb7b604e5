/** The errors the store raises to its callers; each says what the operator can do about it. */

export class CorruptChunkError extends Error {
  constructor(
    readonly chunkId: string,
    why: string,
  ) {
    super(`chunk ${chunkId} is damaged (${why}); run \`pullback verify\` to list the affected snapshots and files`);
    this.name = "CorruptChunkError";
  }
}

export class MissingChunkError extends Error {
  constructor(readonly chunkId: string) {
    super(`chunk ${chunkId} is missing from the store; run \`pullback verify\` to list the affected snapshots and files`);
    this.name = "MissingChunkError";
  }
}

/** The store's disk (or the master's quota on it) is full. */
export class StoreFullError extends Error {
  constructor(code: string, what: string) {
    super(
      `the store's disk is full (${code} while writing ${what}); this backup stops and earlier snapshots are intact. ` +
        "Free space there (`pullback prune --gc`, `pullback gc`) or enlarge it, then run the backup again: what was already stored is reused",
    );
    this.name = "StoreFullError";
  }
}

/** A write to the store failed: a full disk is named as such; anything else passes through. */
export function storeWriteError(err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return new StoreFullError(code, what);
  return err instanceof Error ? err : new Error(String(err));
}
