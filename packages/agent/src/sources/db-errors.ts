/** A database connection or source is configured or named wrongly: the message says what to change. */
export class DbConfigError extends Error {
  override readonly name = "DbConfigError";
}
