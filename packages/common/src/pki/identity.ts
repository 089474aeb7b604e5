import { hints } from "./hints.js";
import { assertKeyMatchesCertificate, readPemFile } from "./load.js";
import { loadRevocations, Revocations } from "./revocation.js";
import { verifyCertificate, type CertificateInfo } from "./verify.js";
import type { Role } from "./roles.js";

/** Everything one side needs for mTLS: trust anchor, own certificate and key, revocations. */
export interface TlsIdentity {
  caPem: string;
  certPem: string;
  keyPem: string;
  revocations: Revocations;
}

export interface IdentityPaths {
  ca: string;
  cert: string;
  key: string;
  /** Optional: a missing file means "nothing revoked yet". */
  revocations?: string;
}

/**
 * Loads and checks one side's identity at startup, so a missing, foreign, expired, revoked or
 * mismatched file is reported with its path and remedy before anything listens or dials.
 */
export function loadTlsIdentity(
  paths: IdentityPaths,
  role: Role,
  nodeName?: string,
): { identity: TlsIdentity; certificate: CertificateInfo } {
  const remedy = role === "agent" ? hints.reenrollAgent(nodeName) : hints.renewMaster();
  const caRemedy = role === "agent" ? hints.reenrollAgent(nodeName) : hints.initCa();
  const caPem = readPemFile(paths.ca, "CA certificate", caRemedy);
  const certPem = readPemFile(paths.cert, `${role} certificate`, remedy);
  const keyPem = readPemFile(paths.key, `${role} private key`, remedy);
  const revocations = paths.revocations ? loadRevocations(paths.revocations, caPem) : new Revocations(caPem);
  const certificate = verifyCertificate(certPem, caPem, { role, nodeName, revocations });
  assertKeyMatchesCertificate(keyPem, certPem, `${role} certificate`, remedy);
  return { identity: { caPem, certPem, keyPem, revocations }, certificate };
}
