/** A database restore refused for what the snapshot holds: the message says what and why. */
export class DbRestoreRefused extends Error {
  override readonly name = "DbRestoreRefused";
}
