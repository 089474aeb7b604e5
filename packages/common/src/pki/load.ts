import { readFileSync } from "node:fs";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { PkiError } from "../errors.js";
import { hints } from "./hints.js";

/**
 * Reads a PEM file and names the file and the remedy when it is missing or is not PEM, instead of
 * letting OpenSSL report "no start line" from deep inside a TLS setup.
 * `what` is the human name ("agent certificate"), `remedy` what to do when it is missing.
 */
export function readPemFile(path: string, what: string, remedy: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new PkiError("missing-file", `${what} not found at ${path}`, remedy);
    throw new PkiError("missing-file", `cannot read ${what} at ${path} (${code ?? String(e)})`, hints.checkPath(what));
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
    throw new PkiError("not-pem", `${what} at ${path} is not a PEM file`, remedy);
  }
  return text;
}

export function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new PkiError("not-pem", `${what} is not a valid PEM certificate (${(e as Error).message})`, "replace it with the file the master issued");
  }
}

/** Refuses a key that does not belong to the certificate: TLS would fail later with a vaguer error. */
export function assertKeyMatchesCertificate(keyPem: string, certPem: string, what: string, remedy: string): void {
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new PkiError("not-pem", `${what} private key is not a valid PEM key (${(e as Error).message})`, remedy);
  }
  const fromKey = createPublicKey(key).export({ type: "spki", format: "der" });
  const fromCert = parseCertificate(certPem, what).publicKey.export({ type: "spki", format: "der" });
  if (!fromKey.equals(fromCert)) {
    throw new PkiError("key-mismatch", `${what} private key does not match its certificate`, remedy);
  }
}
