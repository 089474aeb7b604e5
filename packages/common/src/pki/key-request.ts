import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { KeyExistsError } from "../errors.js";
import { createCsr } from "./csr.js";
import { generateRsaKeyPair } from "./keys.js";

export interface KeyRequestFiles {
  key: string;
  csr: string;
}

/**
 * Writes a new private key and its CSR (`<base>.key`, `<base>.csr`) into `dir`. The key file is
 * created with O_EXCL and mode 0600, so an existing key (or a file someone planted there) is never
 * overwritten or read through, and the key is never readable by others, not even for a moment.
 */
export async function writeKeyRequest(dir: string, base: string, commonName: string): Promise<KeyRequestFiles> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { key: join(dir, `${base}.key`), csr: join(dir, `${base}.csr`) };
  if (existsSync(files.key)) {
    throw new KeyExistsError(`${files.key} already exists`, "make the request from it with `csr`, or move it away to start over");
  }
  const keys = await generateRsaKeyPair(2048);
  writePrivateFile(files.key, keys.privateKeyPem);
  writeFileSync(files.csr, createCsr(keys.privateKeyPem, commonName), { mode: 0o644 });
  return files;
}

/** A CSR for a key that already exists (renewal keeps the key on the machine). */
export function writeRequestForKey(keyPath: string, csrPath: string, commonName: string): void {
  writeFileSync(csrPath, createCsr(readFileSync(keyPath, "utf8"), commonName), { mode: 0o644 });
}

/** Creates `path` (refusing an existing one, symlinks included) readable by its owner only. */
export function writePrivateFile(path: string, text: string): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    // The umask can only take bits away; fchmod makes 0600 exact whatever it is.
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
