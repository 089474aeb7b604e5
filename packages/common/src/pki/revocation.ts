import { X509Certificate, sign, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { PkiError } from "../errors.js";
import { hints } from "./hints.js";
import { normalizeSerial } from "./names.js";
import type { CertKeyPair } from "./issue.js";

/**
 * Revocation is a list of revoked serial numbers signed by the CA key, not an X.509 CRL:
 * node-forge cannot write CRLs, and handing a CRL to OpenSSL (`crl` in the secure context) turns
 * on CRL checking for the whole chain, so a missing or stale CRL would lock every node out at
 * once. A signed JSON list is checked by our own code on both sides (agent: before any message is
 * read; master: inside the handshake), can travel over the channel it protects (the master sends
 * it in every InfoRequest and the agent adopts any newer, validly signed one), and is small: one
 * line per revoked certificate.
 */
export interface RevocationListFile {
  format: "pullback-revocations/1";
  /** ISO time; a list older than the one already held is ignored, so it cannot be rolled back. */
  issuedAt: string;
  serials: string[];
  /** base64 RSA-SHA256 by the CA key over `payload()` */
  signature: string;
}

function payload(l: Pick<RevocationListFile, "format" | "issuedAt" | "serials">): Buffer {
  return Buffer.from(JSON.stringify({ format: l.format, issuedAt: l.issuedAt, serials: l.serials }));
}

export function signRevocationList(ca: CertKeyPair, serials: Iterable<string>, issuedAt = new Date()): RevocationListFile {
  const list = {
    format: "pullback-revocations/1" as const,
    issuedAt: issuedAt.toISOString(),
    serials: [...new Set([...serials].map(normalizeSerial))].sort(),
  };
  return { ...list, signature: sign("sha256", payload(list), ca.keyPem).toString("base64") };
}

/** The verified, in-memory set. Mutable on purpose: servers keep one instance and `adopt` updates. */
export class Revocations {
  private serials = new Set<string>();
  private issued = new Date(0);

  constructor(private readonly caPem: string) {}

  get issuedAt(): Date {
    return this.issued;
  }

  has(serial: string): boolean {
    return this.serials.has(normalizeSerial(serial));
  }

  /**
   * Verifies a list against the CA and takes it if it is newer than the current one.
   * Returns true when adopted; throws on a bad signature or format.
   */
  adopt(list: RevocationListFile | string): boolean {
    const l = verifyRevocationList(list, this.caPem);
    const issued = new Date(l.issuedAt);
    if (issued <= this.issued) return false;
    this.serials = new Set(l.serials.map(normalizeSerial));
    this.issued = issued;
    return true;
  }
}

export function verifyRevocationList(list: RevocationListFile | string, caPem: string): RevocationListFile {
  let l: RevocationListFile;
  try {
    l = typeof list === "string" ? (JSON.parse(list) as RevocationListFile) : list;
  } catch (e) {
    throw new PkiError("bad-revocation-list", `revocation list is not JSON (${(e as Error).message})`, hints.copyRevocations());
  }
  if (
    l?.format !== "pullback-revocations/1" ||
    typeof l.issuedAt !== "string" ||
    Number.isNaN(Date.parse(l.issuedAt)) ||
    !Array.isArray(l.serials) ||
    !l.serials.every((s) => typeof s === "string") ||
    typeof l.signature !== "string"
  ) {
    throw new PkiError("bad-revocation-list", "revocation list has an unknown format", hints.copyRevocations());
  }
  const ca = new X509Certificate(caPem);
  if (!verify("sha256", payload(l), ca.publicKey, Buffer.from(l.signature, "base64"))) {
    throw new PkiError("bad-revocation-list", "revocation list is not signed by this CA", hints.copyRevocations());
  }
  return l;
}

/** A missing file is an empty list (a freshly enrolled agent has none yet); a bad one is an error. */
export function loadRevocations(path: string, caPem: string): Revocations {
  const r = new Revocations(caPem);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return r;
    throw new PkiError("bad-revocation-list", `cannot read revocation list ${path}: ${(e as Error).message}`, hints.checkPath("revocation list"));
  }
  r.adopt(text);
  return r;
}
