// The class lives with the package's other errors; callers of the PKI find it here too.
export { PkiError, type PkiErrorCode } from "../errors.js";
export * from "./hints.js";
export * from "./names.js";
export * from "./roles.js";
export * from "./keys.js";
export * from "./issue.js";
export * from "./csr.js";
export * from "./key-request.js";
export * from "./load.js";
export * from "./verify.js";
export * from "./revocation.js";
export * from "./peer.js";
export * from "./identity.js";
