/**
 * Every PKI failure carries a stable code (for tests and logs) and a hint telling the operator what
 * to do, because "certificate verify failed" alone sends people searching for hours.
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

export class PkiError extends Error {
  override readonly name = "PkiError";
  constructor(
    readonly code: PkiErrorCode,
    problem: string,
    /** What the operator should do about it; appended to the message. */
    readonly hint: string,
  ) {
    super(hint ? `${problem}: ${hint}` : problem);
  }
}
