import { randomBytes } from "node:crypto";
import forge from "node-forge";
import { generateRsaKeyPair } from "./keys.js";
import { assertNodeName } from "./names.js";
import { roleUri, type Role } from "./roles.js";

/** A certificate and its private key, both PEM. */
export interface CertKeyPair {
  certPem: string;
  keyPem: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

const DAY_MS = 86_400_000;
/** Backdating absorbs modest clock skew between master and nodes. */
const BACKDATE_MS = 5 * 60_000;
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 825;

/** Low-level: everything a Pullback certificate can vary in. Prefer the helpers below. */
export interface CertificateSpec extends Validity {
  commonName: string;
  organizationalUnit: string;
  publicKeyPem: string;
  isCa: boolean;
  role?: Role;
  dnsNames?: string[];
  extKeyUsage?: Array<"serverAuth" | "clientAuth">;
  /** Issuer; omitted for the self-signed CA, which then signs with `selfSignKeyPem`. */
  issuer?: CertKeyPair;
  selfSignKeyPem?: string;
  validityDays: number;
}

/**
 * 16 random bytes, top bit cleared (DER INTEGERs are signed) and the next one set so the hex form
 * never has a leading zero: Node and forge then print the same digits.
 */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b.toString("hex");
}

export function issueCertificate(spec: CertificateSpec): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(spec.publicKeyPem);
  cert.serialNumber = newSerial();
  const notBefore = spec.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = spec.notAfter ?? new Date(notBefore.getTime() + spec.validityDays * DAY_MS);

  const subject: forge.pki.CertificateField[] = [
    { name: "organizationName", value: "Pullback" },
    { shortName: "OU", value: spec.organizationalUnit },
    { name: "commonName", value: spec.commonName },
  ];
  cert.setSubject(subject);

  let signingKey: forge.pki.rsa.PrivateKey;
  if (spec.issuer) {
    const issuerCert = forge.pki.certificateFromPem(spec.issuer.certPem);
    cert.setIssuer(issuerCert.subject.attributes);
    signingKey = forge.pki.privateKeyFromPem(spec.issuer.keyPem);
  } else {
    if (!spec.selfSignKeyPem) throw new Error("internal error: issueCertificate: a self-signed certificate needs selfSignKeyPem — please report");
    cert.setIssuer(subject);
    signingKey = forge.pki.privateKeyFromPem(spec.selfSignKeyPem);
  }

  const extensions: object[] = [{ name: "basicConstraints", cA: spec.isCa, critical: true }];
  if (spec.isCa) {
    extensions.push({ name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true });
  } else {
    extensions.push({ name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true });
    extensions.push({ name: "extKeyUsage", ...Object.fromEntries((spec.extKeyUsage ?? []).map((u) => [u, true])) });
  }
  const altNames: Array<{ type: number; value: string }> = [];
  for (const dns of spec.dnsNames ?? []) altNames.push({ type: 2, value: dns });
  if (spec.role) altNames.push({ type: 6, value: roleUri(spec.role) });
  if (altNames.length > 0) extensions.push({ name: "subjectAltName", altNames });
  extensions.push({ name: "subjectKeyIdentifier" });
  if (spec.issuer) {
    const issuerCert = forge.pki.certificateFromPem(spec.issuer.certPem);
    extensions.push({
      name: "authorityKeyIdentifier",
      keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes(),
    });
  }
  cert.setExtensions(extensions);
  cert.sign(signingKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** The private CA: self-signed, signs certificates (and revocation lists), nothing else. */
export async function createCa(opts: Validity & { name?: string } = {}): Promise<CertKeyPair> {
  const keys = await generateRsaKeyPair(3072);
  // A random suffix tells apart the CAs of two installations in logs and error messages.
  const name = opts.name ?? `Pullback CA ${randomBytes(4).toString("hex")}`;
  const certPem = issueCertificate({
    ...opts,
    commonName: name,
    organizationalUnit: "ca",
    publicKeyPem: keys.publicKeyPem,
    isCa: true,
    selfSignKeyPem: keys.privateKeyPem,
    validityDays: CA_VALIDITY_DAYS,
  });
  return { certPem, keyPem: keys.privateKeyPem };
}

/** The master's client certificate: clientAuth only, role master. */
export async function issueMasterCertificate(ca: CertKeyPair, opts: Validity & { name?: string } = {}): Promise<CertKeyPair> {
  const keys = await generateRsaKeyPair(2048);
  return { certPem: signMasterKey(ca, keys.publicKeyPem, opts), keyPem: keys.privateKeyPem };
}

/** Certifies a master public key whose private key stays where it was made (CSR enrollment). */
export function signMasterKey(ca: CertKeyPair, publicKeyPem: string, opts: Validity & { name?: string } = {}): string {
  return issueCertificate({
    ...opts,
    commonName: opts.name ?? "pullback-master",
    organizationalUnit: "master",
    publicKeyPem,
    isCa: false,
    role: "master",
    extKeyUsage: ["clientAuth"],
    issuer: ca,
    validityDays: LEAF_VALIDITY_DAYS,
  });
}

/** An agent's server certificate: CN and the only DNS SAN are the node name; serverAuth only. */
export async function issueAgentCertificate(ca: CertKeyPair, nodeName: string, opts: Validity = {}): Promise<CertKeyPair> {
  assertNodeName(nodeName);
  const keys = await generateRsaKeyPair(2048);
  return { certPem: signAgentKey(ca, nodeName, keys.publicKeyPem, opts), keyPem: keys.privateKeyPem };
}

/** Certifies a node's public key whose private key never left the node (CSR enrollment). */
export function signAgentKey(ca: CertKeyPair, nodeName: string, publicKeyPem: string, opts: Validity = {}): string {
  assertNodeName(nodeName);
  return issueCertificate({
    ...opts,
    commonName: nodeName,
    organizationalUnit: "agent",
    publicKeyPem,
    isCa: false,
    role: "agent",
    dnsNames: [nodeName],
    extKeyUsage: ["serverAuth"],
    issuer: ca,
    validityDays: LEAF_VALIDITY_DAYS,
  });
}
