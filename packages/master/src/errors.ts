/**
 * The errors of the master.
 *
 * The convention is common's (see @pullback/common's errors.ts): every class derives from
 * PullbackError, which sets `name` from the class (subclasses never set it) and appends the
 * optional `hint`, what the operator should do, to the message. A bare `throw new Error` is left
 * only for a broken invariant and says "internal error: … — please report".
 *
 * The CLI maps ConfigError, PkiError and the catalog's start-up errors (EmbeddedPostgresError,
 * MigrationError) to exit code 4, UsageError and RestoreRequestError to 2, and everything else,
 * the rest of this file included, to 1 (cli/main.ts).
 */
import { PullbackError } from "@pullback/common";
import { formatBytes } from "./util/format-bytes.js";

/** Bad command line: the CLI prints the message and exits 2. */
export class UsageError extends PullbackError {}

/**
 * A restore request the operator can fix (no such node, wrong kind of snapshot): the CLI's usage
 * error, the API's 400 (restore/route-restore.ts).
 */
export class RestoreRequestError extends PullbackError {}

/** A duration on the command line or in a policy that we cannot read (policy/duration.ts). */
export class DurationError extends PullbackError {}

/** What the catalog refuses or cannot find: a missing node, source, job or snapshot, a conflicting name. */
export class CatalogError extends PullbackError {}

/** A snapshot record the catalog refuses to index (a partial or corrupt manifest, a conflicting id or type). */
export class RecordError extends PullbackError {}

/** The catalog's schema could not be brought up to date (catalog/migrate.ts). */
export class MigrationError extends PullbackError {}

/** The catalog's own PostgreSQL (under the home's catalog/) could not be started or stopped (catalog/embedded.ts). */
export class EmbeddedPostgresError extends PullbackError {}

/** The snapshot writer refused what an agent sent (a damaged chunk, an entry breaking a rule, a protocol slip). */
export class BackupRejectedError extends PullbackError {}

/** The hint for a chunk that is damaged or missing in the store. */
export const VERIFY_CHUNKS_HINT = "run `pullback verify` to list the affected snapshots and files";

/** A chunk in the store is not what its id names (store/chunk-store.ts, store/chunk-layout.ts). */
export class CorruptChunkError extends PullbackError {
  constructor(
    readonly chunkId: string,
    why: string,
  ) {
    super(`chunk ${chunkId} is damaged (${why})`, VERIFY_CHUNKS_HINT);
  }
}

/** A chunk a snapshot references is not in the store. */
export class MissingChunkError extends PullbackError {
  constructor(readonly chunkId: string) {
    super(`chunk ${chunkId} is missing from the store`, VERIFY_CHUNKS_HINT);
  }
}

/** The store's disk (or the master's quota on it) is full. */
export class StoreFullError extends PullbackError {
  constructor(code: string, what: string) {
    super(
      `the store's disk is full (${code} while writing ${what}); this backup stops and earlier snapshots are intact. ` +
        "Free space there (`pullback prune --gc`, `pullback gc`) or enlarge it, then run the backup again: what was already stored is reused",
    );
  }
}

/** New chunks could not be made durable in the store for another reason than a full disk. */
export class StoreWriteError extends PullbackError {}

/** A write to the store failed: a full disk is named as such (StoreFullError); anything else passes through. */
export function storeWriteError(err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return new StoreFullError(code, what);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A node, source, snapshot or certificate that a command or a job names does not exist (or, for a
 * snapshot id prefix, matches several).
 */
export class NotFoundError extends PullbackError {}

/** A node or source is set up in a way this operation cannot use. */
export class NodeSetupError extends PullbackError {}

/** Someone else (GC, a prune, a removal) changed what this job relied on while it ran. */
export class ConcurrentChangeError extends PullbackError {}

/**
 * A protected snapshot was asked to be forgotten. The message names the command that lifts the
 * protection in its own text, which tests match ("is protected; run … first").
 */
export class ProtectedSnapshotError extends PullbackError {}

/** The job was stopped on purpose (its signal aborted); the message is the reason given. */
export class JobCancelledError extends PullbackError {}

/** The agent broke the session's protocol (a message out of turn, or the stream ended early). */
export class AgentProtocolError extends PullbackError {}

/** An enrollment bundle is already at the path; it is never overwritten without --force. */
export class BundleExistsError extends PullbackError {}

/** The enrollment bundle could not be written (the directory, the disk, or tar). */
export class BundleWriteError extends PullbackError {}

/** A backup stopped because its node went over its storage quota (backup/node-quota.ts). */
export class QuotaExceededError extends PullbackError {
  constructor(node: string, quota: number, usedElsewhere: number, sessionBytes: number) {
    super(
      `node ${node} is over its storage quota of ${formatBytes(quota)}: it used ${formatBytes(usedElsewhere)} without this backup, ` +
        `which added ${formatBytes(sessionBytes)} before it was stopped. Earlier snapshots are intact; what this backup stored is freed by \`pullback gc\` once its grace period has passed`,
      `raise the quota (\`pullback node set ${node} --quota SIZE\`, or \`--quota none\`) or free space (\`pullback prune\`, then \`pullback gc\`), then run the backup again`,
    );
  }
}
