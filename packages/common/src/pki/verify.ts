import { X509Certificate } from "node:crypto";
import { PkiError } from "../errors.js";
import { hints } from "./hints.js";
import { parseCertificate } from "./load.js";
import { normalizeSerial } from "./names.js";
import { parseSubjectAltName, roleOf, type Role } from "./roles.js";
import type { Revocations } from "./revocation.js";

export interface CertificateInfo {
  serial: string;
  role: Role | null;
  commonName: string;
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  fingerprint256: string;
}

export function describeCertificate(cert: X509Certificate): CertificateInfo {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "";
  return {
    serial: normalizeSerial(cert.serialNumber),
    role: roleOf(cert.subjectAltName),
    commonName: cn,
    dnsNames: parseSubjectAltName(cert.subjectAltName).dns,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
  };
}

export interface VerifyOptions {
  role: Role;
  /** Agents: the node name the certificate must carry as its DNS SAN. */
  nodeName?: string;
  revocations?: Revocations;
  now?: Date;
}

/**
 * Offline check of a certificate file against our CA: the same rules the TLS handshake and the
 * peer checks apply, run at startup so a bad file is reported before the first connection.
 */
export function verifyCertificate(certPem: string, caPem: string, opts: VerifyOptions): CertificateInfo {
  const what = opts.role === "agent" ? `certificate of node ${opts.nodeName ?? "?"}` : "master certificate";
  const remedy = opts.role === "agent" ? hints.reenrollAgent(opts.nodeName) : hints.renewMaster();
  const ca = parseCertificate(caPem, "CA certificate");
  const cert = parseCertificate(certPem, what);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new PkiError("wrong-ca", `${what} was not issued by this CA (${ca.subject.replace(/\n/g, ", ")})`, remedy);
  }
  const info = describeCertificate(cert);
  const now = opts.now ?? new Date();
  if (now < info.notBefore) {
    throw new PkiError("not-yet-valid", `${what} is not valid before ${info.notBefore.toISOString()}`, hints.clockOrRenew(opts.nodeName));
  }
  if (now > info.notAfter) {
    throw new PkiError("expired", `${what} expired on ${info.notAfter.toISOString()}`, remedy);
  }
  if (info.role !== opts.role) {
    throw new PkiError("wrong-role", `${what} has role ${info.role ?? "none"}, expected ${opts.role}`, remedy);
  }
  if (opts.nodeName !== undefined && !info.dnsNames.includes(opts.nodeName)) {
    throw new PkiError("wrong-name", `${what} names ${info.dnsNames.join(", ") || "no node"}, not ${opts.nodeName}`, remedy);
  }
  if (opts.revocations?.has(info.serial)) {
    throw new PkiError("revoked", `${what} (serial ${info.serial}) is revoked`, remedy);
  }
  return info;
}
