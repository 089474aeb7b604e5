/**
 * Writes a node's enrollment bundle (.tar.gz). The bundle may hold the node's private key, so the
 * file is created by us with O_CREAT|O_EXCL and mode 0600 and tar writes into that descriptor: it
 * is never readable by others, not even while tar runs, and a file someone planted at the path
 * (or a symlink to elsewhere) is refused instead of being written through and keeping its owner.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { BundleExistsError, BundleWriteError } from "../errors.js";

export interface BundleContents {
  agentYaml: string;
  caCertPem: string;
  certPem: string;
  /** Absent when the node made its own key (CSR enrollment): the key never left the node. */
  keyPem: string | null;
  revocationsJson: string;
}

/** Writes the bundle at `path`; `force` replaces an existing file by renaming a new one over it. */
export function writeAgentBundle(path: string, contents: BundleContents, opts: { force?: boolean } = {}): void {
  const staging = mkdtempSync(join(tmpdir(), "pullback-enroll-"));
  try {
    mkdirSync(join(staging, "pki"), { mode: 0o700 });
    writeFileSync(join(staging, "agent.yaml"), contents.agentYaml, { mode: 0o600 });
    writeFileSync(join(staging, "pki/ca.crt"), contents.caCertPem, { mode: 0o644 });
    writeFileSync(join(staging, "pki/agent.crt"), contents.certPem, { mode: 0o644 });
    if (contents.keyPem !== null) writeFileSync(join(staging, "pki/agent.key"), contents.keyPem, { mode: 0o600 });
    writeFileSync(join(staging, "pki/revoked.json"), contents.revocationsJson, { mode: 0o644 });
    // A fresh name beside the target, so the final rename stays on one file system.
    const target = opts.force ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`) : path;
    const fd = openExclusive(target, path);
    try {
      fchmodSync(fd, 0o600);
      const r = spawnSync("tar", ["-czf", "-", "-C", staging, "agent.yaml", "pki"], { stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
      if (r.status !== 0) throw new BundleWriteError(`cannot write ${path}: tar failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`, "check that tar is installed and the disk has room");
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      unlinkSync(target);
      throw e;
    }
    closeSync(fd);
    if (target !== path) renameSync(target, path);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function existsError(path: string): BundleExistsError {
  return new BundleExistsError(`${path} already exists; it was left untouched`, "remove it, choose another --out, or pass --force to replace it");
}

/**
 * Early refusal, before a certificate is issued for a bundle that cannot be written. Only a
 * courtesy: the O_EXCL open in writeAgentBundle is what holds against a file planted meanwhile.
 */
export function assertBundlePathFree(path: string): void {
  if (existsSync(path)) throw existsError(path);
}

function openExclusive(target: string, path: string): number {
  try {
    return openSync(target, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw existsError(path);
    throw new BundleWriteError(`cannot create ${path}: ${(e as Error).message}`, "check that its directory exists and is writable, or choose another --out");
  }
}
