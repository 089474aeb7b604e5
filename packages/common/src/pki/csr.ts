import forge from "node-forge";
import { PkiError } from "../errors.js";

/**
 * Certificate signing requests let a node (or the master) keep its private key where it was made:
 * only the public key travels to the CA. The CSR's subject is a claim, not a decision: the CA
 * operator names the role and node when signing, and the CSR's name only has to agree with it.
 */
export function createCsr(keyPem: string, commonName: string): string {
  const key = forge.pki.privateKeyFromPem(keyPem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  csr.setSubject([
    { name: "organizationName", value: "Pullback" },
    { name: "commonName", value: commonName },
  ]);
  csr.sign(key, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

export interface VerifiedCsr {
  commonName: string;
  publicKeyPem: string;
}

const REMEDY = "make a new one on the node with `pullback-agent keygen` (or `pullback init --offline-ca` on the master) and copy the .csr file unchanged";

/** Parses a CSR and checks its self-signature, which proves the requester holds the private key. */
export function readCsr(pem: string): VerifiedCsr {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch (e) {
    throw new PkiError("bad-csr", `not a PEM certificate signing request (${(e as Error).message})`, REMEDY);
  }
  let signed = false;
  try {
    signed = csr.verify();
  } catch {
    signed = false;
  }
  if (!signed) throw new PkiError("bad-csr", "the certificate signing request's signature does not match its key", REMEDY);
  if (!csr.publicKey) throw new PkiError("bad-csr", "the certificate signing request carries no public key", REMEDY);
  const cn = csr.subject.getField("CN") as { value?: unknown } | null;
  return {
    commonName: typeof cn?.value === "string" ? cn.value : "",
    publicKeyPem: forge.pki.publicKeyToPem(csr.publicKey),
  };
}
