/**
 * A CA directory: the CA's key and certificate, the signed revocation list and a record of every
 * certificate issued, so `revoke NODE` can find its serials. The master's own PKI directory is one
 * (online mode, the default); `pullback ca --dir DIR` keeps one off the master (offline mode).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import {
  PkiError,
  assertNodeName,
  createCa,
  describeCertificate,
  issueAgentCertificate,
  readCsr,
  signAgentKey,
  signMasterKey,
  signRevocationList,
  verifyRevocationList,
  writePrivateFile,
  type CertKeyPair,
  type RevocationListFile,
} from "@pullback/common/pki/index";
import { NotFoundError } from "../errors.js";

export interface IssuedRecord {
  node: string;
  serial: string;
  issuedAt: string;
  notAfter: string;
}

/** Who a CSR is signed for: the CA operator decides, the CSR's own name only has to agree. */
export type SignFor = { role: "agent"; node: string } | { role: "master" };

/** Issued records of master certificates; "_" cannot start a node name, so no node shares them. */
export const MASTER_RECORD_NAME = "_master";

export class CaDirectory {
  constructor(readonly dir: string) {}

  p(name: string): string {
    return join(this.dir, name);
  }

  hasCertificate(): boolean {
    return existsSync(this.p("ca.crt"));
  }

  hasKey(): boolean {
    return existsSync(this.p("ca.key"));
  }

  /** Creates a new CA here; refuses a directory that already holds one (it would orphan every node). */
  static async create(dir: string): Promise<CaDirectory> {
    const ca = new CaDirectory(dir);
    if (ca.hasCertificate() || ca.hasKey()) {
      throw new PkiError("missing-file", `${dir} already holds a CA`, "use it as it is, or choose another directory for a new CA");
    }
    mkdirSync(ca.p("issued"), { recursive: true, mode: 0o700 });
    const pair = await createCa();
    writePrivateFile(ca.p("ca.key"), pair.keyPem);
    ca.write("ca.crt", pair.certPem, 0o644);
    ca.write("revoked.json", JSON.stringify(signRevocationList(pair, []), null, 2) + "\n", 0o644);
    return ca;
  }

  write(name: string, text: string, mode: number): void {
    // Write-then-rename so an interrupted write never leaves half a file.
    writeFileSync(this.p(name + ".tmp"), text, { mode });
    renameSync(this.p(name + ".tmp"), this.p(name));
  }

  /** A private key: the temporary file is created O_EXCL 0600 (never a leftover with other modes). */
  writeSecret(name: string, text: string): void {
    rmSync(this.p(name + ".tmp"), { force: true });
    writePrivateFile(this.p(name + ".tmp"), text);
    renameSync(this.p(name + ".tmp"), this.p(name));
  }

  certPem(): string {
    return readFileSync(this.p("ca.crt"), "utf8");
  }

  /** The CA key pair; only a directory that holds the key can sign. */
  keyPair(): CertKeyPair {
    if (!this.hasKey()) {
      throw new PkiError(
        "missing-file",
        `no CA private key in ${this.dir} (offline CA mode)`,
        "sign on the CA machine with `pullback ca sign --dir DIR` and revoke with `pullback ca revoke --dir DIR`",
      );
    }
    return { certPem: this.certPem(), keyPem: readFileSync(this.p("ca.key"), "utf8") };
  }

  revocationList(): RevocationListFile {
    return verifyRevocationList(readFileSync(this.p("revoked.json"), "utf8"), this.certPem());
  }

  /** Signs a CSR for the given role; the request must name the same node (or be the master's). */
  signCsr(csrPem: string, signFor: SignFor): { certPem: string; record: IssuedRecord } {
    const csr = readCsr(csrPem);
    if (signFor.role === "agent") {
      assertNodeName(signFor.node);
      if (csr.commonName !== signFor.node) {
        throw new PkiError("bad-csr", `the request is for "${csr.commonName}", not for node ${signFor.node}`, "check that you are signing the right node's .csr file");
      }
      const certPem = signAgentKey(this.keyPair(), signFor.node, csr.publicKeyPem);
      return { certPem, record: this.record(signFor.node, certPem) };
    }
    const certPem = signMasterKey(this.keyPair(), csr.publicKeyPem);
    return { certPem, record: this.record(MASTER_RECORD_NAME, certPem) };
  }

  /** A node's certificate and new key, made here (online enrollment without a CSR). */
  async issueAgent(node: string): Promise<CertKeyPair & { record: IssuedRecord }> {
    const pair = await issueAgentCertificate(this.keyPair(), node);
    return { ...pair, record: this.record(node, pair.certPem) };
  }

  /** Records an issued certificate so `revoke NODE` finds its serial. */
  record(node: string, certPem: string): IssuedRecord {
    const info = describeCertificate(new X509Certificate(certPem));
    const record: IssuedRecord = { node, serial: info.serial, issuedAt: new Date().toISOString(), notAfter: info.notAfter.toISOString() };
    mkdirSync(this.p("issued"), { recursive: true, mode: 0o700 });
    this.write(join("issued", `${node}-${info.serial}.json`), JSON.stringify(record, null, 2) + "\n", 0o644);
    return record;
  }

  issued(): IssuedRecord[] {
    const dir = this.p("issued");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as IssuedRecord);
  }

  /** Revokes every certificate issued to `nodeOrSerial` (or that serial) and re-signs the list. */
  revoke(nodeOrSerial: string): string[] {
    const target = nodeOrSerial.toLowerCase();
    const serials = this.issued()
      .filter((r) => r.node === nodeOrSerial || r.serial.toLowerCase() === target)
      .map((r) => r.serial);
    if (serials.length === 0 && /^[0-9a-f]{8,}$/i.test(nodeOrSerial)) serials.push(nodeOrSerial);
    if (serials.length === 0) throw new NotFoundError(`no certificate was issued to ${nodeOrSerial}`, "give a node name or serial that `pullback enroll` issued (it records every serial it issues)");
    this.revokeSerials(serials);
    return serials;
  }

  revokeSerials(serials: string[]): void {
    const current = this.revocationList();
    const list = signRevocationList(this.keyPair(), new Set([...current.serials, ...serials]));
    this.write("revoked.json", JSON.stringify(list, null, 2) + "\n", 0o644);
  }
}
