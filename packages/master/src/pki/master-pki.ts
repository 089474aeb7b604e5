/**
 * The master's PKI directory (<home>/pki): the private CA, the master's client certificate, the
 * signed revocation list and a record of every certificate issued to a node, so `revoke NODE` can
 * find its serials. The CA key never leaves this directory; enrollment bundles carry only the CA
 * certificate and the node's own key pair.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createCa,
  describeCertificate,
  issueAgentCertificate,
  issueMasterCertificate,
  loadTlsIdentity,
  signRevocationList,
  verifyRevocationList,
  type CertKeyPair,
  type RevocationListFile,
  type TlsIdentity,
} from "@pullback/common/pki/index";
import { X509Certificate } from "node:crypto";

export interface IssuedRecord {
  node: string;
  serial: string;
  issuedAt: string;
  notAfter: string;
}

export class MasterPki {
  constructor(readonly dir: string) {}

  private p(name: string): string {
    return join(this.dir, name);
  }

  exists(): boolean {
    return existsSync(this.p("ca.crt")) && existsSync(this.p("ca.key"));
  }

  private write(name: string, text: string, mode: number): void {
    // Write-then-rename so an interrupted init never leaves half a key.
    writeFileSync(this.p(name + ".tmp"), text, { mode });
    renameSync(this.p(name + ".tmp"), this.p(name));
  }

  /** Creates the CA and master certificate when missing; `renewMaster` reissues the master's. */
  async ensure(opts: { renewMaster?: boolean } = {}): Promise<{ createdCa: boolean; issuedMaster: boolean }> {
    mkdirSync(this.p("issued"), { recursive: true, mode: 0o700 });
    let createdCa = false;
    if (!this.exists()) {
      const ca = await createCa();
      this.write("ca.key", ca.keyPem, 0o600);
      this.write("ca.crt", ca.certPem, 0o644);
      this.write("revoked.json", JSON.stringify(signRevocationList(ca, []), null, 2) + "\n", 0o644);
      createdCa = true;
    }
    let issuedMaster = false;
    if (opts.renewMaster || !existsSync(this.p("master.crt"))) {
      const m = await issueMasterCertificate(this.ca());
      this.write("master.key", m.keyPem, 0o600);
      this.write("master.crt", m.certPem, 0o644);
      issuedMaster = true;
    }
    return { createdCa, issuedMaster };
  }

  ca(): CertKeyPair {
    return { certPem: readFileSync(this.p("ca.crt"), "utf8"), keyPem: readFileSync(this.p("ca.key"), "utf8") };
  }

  masterIdentity(): TlsIdentity {
    return loadTlsIdentity({ ca: this.p("ca.crt"), cert: this.p("master.crt"), key: this.p("master.key"), revocations: this.p("revoked.json") }, "master").identity;
  }

  revocationList(): RevocationListFile {
    return verifyRevocationList(readFileSync(this.p("revoked.json"), "utf8"), this.ca().certPem);
  }

  /** Issues a node's certificate and records its serial. */
  async issueAgent(node: string): Promise<CertKeyPair & { record: IssuedRecord }> {
    const pair = await issueAgentCertificate(this.ca(), node);
    const info = describeCertificate(new X509Certificate(pair.certPem));
    const record: IssuedRecord = { node, serial: info.serial, issuedAt: new Date().toISOString(), notAfter: info.notAfter.toISOString() };
    this.write(join("issued", `${node}-${info.serial}.json`), JSON.stringify(record, null, 2) + "\n", 0o644);
    return { ...pair, record };
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
    if (serials.length === 0) throw new Error(`no certificate was issued to ${nodeOrSerial}; \`pullback enroll\` records every serial it issues`);
    const current = this.revocationList();
    const list = signRevocationList(this.ca(), new Set([...current.serials, ...serials]));
    this.write("revoked.json", JSON.stringify(list, null, 2) + "\n", 0o644);
    return serials;
  }
}
