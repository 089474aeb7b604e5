/**
 * The errors of the master.
 *
 * The convention is common's (see @pullback/common's errors.ts): every class derives from
 * PullbackError, which sets `name` from the class (subclasses never set it) and appends the
 * optional `hint`, what the operator should do, to the message. A bare `throw new Error` is left
 * only for a broken invariant and says "internal error: … — please report".
 *
 * The CLI maps ConfigError, PkiError and the catalog's start-up errors to exit code 4, UsageError
 * to 2 and everything else, these included, to 1 (cli/main.ts).
 */
import { PullbackError } from "@pullback/common";
import { formatBytes } from "./util/format-bytes.js";

/** A node, source or certificate that a command or a job names does not exist. */
export class NotFoundError extends PullbackError {}

/** A node or source is set up in a way this operation cannot use. */
export class NodeSetupError extends PullbackError {}

/** Someone else (GC, a prune, a removal) changed what this job relied on while it ran. */
export class ConcurrentChangeError extends PullbackError {}

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
