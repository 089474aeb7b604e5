/**
 * The errors of @pullback/common, and PullbackError, the base class of every Pullback error.
 *
 * The convention, the same in agent/src/errors.ts and master/src/errors.ts:
 * - Each package keeps its error classes in its own errors.ts, and every one derives from
 *   PullbackError, so `err instanceof PullbackError` tells our own refusals from a library's.
 * - `name` is set once, below, from the class actually constructed; subclasses never set it.
 * - `hint` says what the operator should do about it. It is appended to the message
 *   ("problem: hint"), so a log line or the CLI shows the remedy without knowing the class.
 *   Some messages weave the remedy into their own text instead (a config error naming the field
 *   to fix; texts that tests and scripts match); an error with neither is one its caller catches
 *   and reports in its own words (ChangedError, EntryRuleError).
 * - A bare `throw new Error` is left only for a broken invariant (a bug), and then says
 *   "internal error: … — please report" so nobody goes looking for a setting to fix.
 */
import type { status as GrpcStatus } from "@grpc/grpc-js";

export class PullbackError extends Error {
  /** What the operator should do about it; already part of the message. */
  readonly hint: string | undefined;

  constructor(problem: string, hint?: string, options?: ErrorOptions) {
    super(hint ? `${problem}: ${hint}` : problem, options);
    this.name = new.target.name;
    this.hint = hint || undefined;
  }
}

/** A value as it may appear in an error: escaped (JSON), and short even when the value is not. */
export function showValue(v: unknown, max = 120): string {
  const s = typeof v === "string" ? JSON.stringify(v) : String(v);
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/**
 * A config file (or a config value given on the command line) that cannot be used. The message
 * names the file, the line and the field, so an operator can fix a typo without reading our source.
 */
export class ConfigError extends PullbackError {}

/**
 * An entry breaks a rule the catalog and the restore writers rely on (entry-rules.ts). The caller
 * that received the entry says whose it was and what to do; this names the field and the value.
 */
export class EntryRuleError extends PullbackError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    why: string,
  ) {
    super(`field ${field} = ${showValue(value)} ${why}`);
  }
}

/**
 * Data read back from a snapshot or received from the peer (a manifest line, a wire entry, a chunk
 * id) is not what Pullback writes: the snapshot is damaged or the peer is not speaking our protocol.
 */
export class DamagedDataError extends PullbackError {}

export const DAMAGED_MANIFEST_HINT = "the snapshot's manifest is damaged (run `pullback verify`)";

/** The hint for a message from the peer that breaks the protocol. */
export const PEER_PROTOCOL_HINT = "check that the master and the agent run the same Pullback version";

/** What was wrong with a chunk, for callers that report the cases differently (a backup rejects, a restore warns). */
export type ChunkFault = "implausible-length" | "unknown-codec" | "undecodable" | "hash-mismatch";

/** Encoded chunk bytes that must not be used: they are not the content their id names (chunk-verify.ts). */
export class DamagedChunkError extends PullbackError {
  constructor(
    readonly chunkId: string,
    readonly fault: ChunkFault,
    /** Short reason, e.g. "content does not match its SHA-256". */
    readonly detail: string,
  ) {
    super(
      `chunk ${chunkId} is damaged (${detail}); none of it was used`,
      "run `pullback verify` on the master to list the snapshots and files that need it, and `pullback verify --repair` so the next backup stores it again",
    );
  }
}

/** A codec's native library did not load: the installation lacks its prebuilt binary (codec-native.ts). */
export class CodecUnavailableError extends PullbackError {}

/** A path from a snapshot or the wire that would escape or alias the directory it is restored under. */
export class UnsafePathError extends PullbackError {}

export const UNSAFE_PATH_HINT =
  "nothing was written for it; the snapshot is damaged or was made by a compromised node: restore from another snapshot and check that node";

/** A private key file is already there: we never overwrite or read through one. */
export class KeyExistsError extends PullbackError {}

/** A message could not be sent because the other side closed the call first. */
export class CallEndedError extends PullbackError {
  constructor(problem: string) {
    super(problem, "the other side closed the call (it stopped, or cancelled the job): its log says why");
  }
}

/**
 * An error with a gRPC status code. Agent handlers throw it to choose the status the master sees
 * (anything else becomes INTERNAL); the master-side helpers (rpc/errors.ts) throw it with the node
 * named and a remedy, never a bare "14 UNAVAILABLE".
 */
export class RpcError extends PullbackError {
  constructor(
    readonly code: GrpcStatus,
    problem: string,
    hint?: string,
  ) {
    super(problem, hint);
  }
  /** grpc-js reads `code` and `details` from an error emitted on a server stream. */
  get details(): string {
    return this.message;
  }
}

/**
 * Every PKI failure carries a stable code (for tests and logs) and a hint telling the operator what
 * to do (see pki/hints.ts), because "certificate verify failed" alone sends people searching for hours.
 */
export type PkiErrorCode =
  | "missing-file"
  | "not-pem"
  | "wrong-ca"
  | "expired"
  | "not-yet-valid"
  | "wrong-role"
  | "wrong-name"
  | "revoked"
  | "key-mismatch"
  | "bad-revocation-list"
  | "invalid-node-name"
  | "bad-csr";

export class PkiError extends PullbackError {
  constructor(
    readonly code: PkiErrorCode,
    problem: string,
    hint: string,
  ) {
    super(problem, hint);
  }
}
