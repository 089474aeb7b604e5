/**
 * The errors of the agent.
 *
 * The convention is common's (see @pullback/common's errors.ts): every class derives from
 * PullbackError, which sets `name` from the class (subclasses never set it) and appends the
 * optional `hint`, what the operator should do, to the message. A bare `throw new Error` is left
 * only for a broken invariant and says "internal error: … — please report".
 *
 * How the master sees them: the RPC handlers turn NotAllowedError into PERMISSION_DENIED,
 * DbRestoreRefused and DbConfigError into FAILED_PRECONDITION, DbToolError into ABORTED
 * (restore/db-restore-handler.ts); anything else arrives as INTERNAL with its message.
 */
import { PullbackError } from "@pullback/common";

/** A path outside what the agent config's backup.allow or restore.allow lists. */
export class NotAllowedError extends PullbackError {}

/** The thing at a path is not what was checked before: skip it, never read or write the other one. */
export class ChangedError extends PullbackError {}

/** The running system lacks something the agent needs (today: /proc). */
export class UnsupportedSystemError extends PullbackError {}

/** A source's configured path cannot be backed up as that kind of source. */
export class SourcePathError extends PullbackError {}

/** What a restore would write collides with what already is in the target. */
export class RestoreConflictError extends PullbackError {
  constructor(problem: string, hint = "move it away, or restore into another target") {
    super(problem, hint);
  }

  /** `rel` is there already and this restore may not replace it. */
  static exists(rel: string): RestoreConflictError {
    return new RestoreConflictError(`${rel} already exists in the target`, "restore with --overwrite to replace it");
  }
}

/** The restore could not create an entry in the target (permissions, space, a missing tool). */
export class RestoreWriteError extends PullbackError {}

/** A database tool (mysqldump, pg_dump, psql, …) failed: the message says which, how it ended and what it printed. */
export class DbToolError extends PullbackError {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** A database connection or source is configured or named wrongly: the message says what to change. */
export class DbConfigError extends PullbackError {}

/** A database restore refused for what the snapshot holds: the message says what and why. */
export class DbRestoreRefused extends PullbackError {}
