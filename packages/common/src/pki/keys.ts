import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";

const generate = promisify(generateKeyPair);

export interface KeyPairPem {
  /** PKCS#1 "RSA PRIVATE KEY": readable by both node-forge and OpenSSL. */
  privateKeyPem: string;
  publicKeyPem: string;
}

/**
 * RSA keys come from OpenSSL via node:crypto (milliseconds, off the event loop) rather than
 * node-forge's pure-JS generator (seconds per 3072-bit key); forge only signs.
 */
export async function generateRsaKeyPair(bits = 3072): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generate("rsa", {
    modulusLength: bits,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
