/**
 * The master's PKI directory (<home>/pki): the CA certificate, the master's client certificate and
 * key, and the signed revocation list. In online mode (the default) it is also the CA directory and
 * holds the CA key; in offline mode the CA lives elsewhere (`pullback ca --dir DIR`) and this
 * directory has no CA key: the master can then neither issue nor revoke, only install what the
 * offline CA signed. Enrollment bundles never carry the CA key.
 */
import { existsSync, mkdirSync, renameSync, rmSync, readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import {
  PkiError,
  assertKeyMatchesCertificate,
  describeCertificate,
  hints,
  issueMasterCertificate,
  parseCertificate,
  loadTlsIdentity,
  verifyCertificate,
  verifyRevocationList,
  writeKeyRequest,
  type RevocationListFile,
  type TlsIdentity,
} from "@pullback/common/pki/index";
import { CaDirectory, MASTER_RECORD_NAME, type IssuedRecord } from "./ca-directory.js";

export type { IssuedRecord } from "./ca-directory.js";

export type CaMode = "online" | "offline";

export interface EnsureResult {
  createdCa: boolean;
  issuedMaster: boolean;
  mode: CaMode;
  /** Serial of the master certificate that renewal replaced and put on the revocation list. */
  revokedMaster: string | null;
  /** Offline mode: the CSR the offline CA must sign before the master can dial agents. */
  pendingCsr: string | null;
}

const NEXT_KEY = "master-next.key";
const NEXT_CSR = "master-next.csr";
const MASTER_COMMON_NAME = "pullback-master";

export class MasterPki {
  readonly ca: CaDirectory;

  constructor(readonly dir: string) {
    this.ca = new CaDirectory(dir);
  }

  private p(name: string): string {
    return this.ca.p(name);
  }

  exists(): boolean {
    return this.ca.hasCertificate();
  }

  mode(): CaMode {
    return this.ca.hasKey() ? "online" : "offline";
  }

  /**
   * Online: creates the CA and master certificate when missing; `renewMaster` reissues the
   * master's and revokes the one it replaces, so a stolen old master key stops working at every
   * agent the master contacts. Offline: makes the master's key and CSR for the offline CA to sign.
   * Never creates a CA over an existing CA certificate: that would orphan every enrolled node.
   */
  async ensure(opts: { renewMaster?: boolean } = {}): Promise<EnsureResult> {
    let createdCa = false;
    if (!this.exists()) {
      await CaDirectory.create(this.dir);
      createdCa = true;
    }
    if (this.mode() === "offline") {
      const pendingCsr = await this.requestMasterCertificate(opts.renewMaster === true);
      return { createdCa, issuedMaster: false, mode: "offline", revokedMaster: null, pendingCsr };
    }
    let issuedMaster = false;
    let revokedMaster: string | null = null;
    const hasMaster = existsSync(this.p("master.crt"));
    if (opts.renewMaster || !hasMaster) {
      const old = hasMaster ? describeCertificate(new X509Certificate(readFileSync(this.p("master.crt")))).serial : null;
      const m = await issueMasterCertificate(this.ca.keyPair());
      this.ca.record(MASTER_RECORD_NAME, m.certPem);
      // Revoke first, then install: a crash in between leaves a master whose certificate is refused
      // at startup with "renew it" (fail closed), never a new certificate beside a valid old one.
      if (old) {
        this.ca.revokeSerials([old]);
        revokedMaster = old;
      }
      this.ca.writeSecret("master.key", m.keyPem);
      this.ca.write("master.crt", m.certPem, 0o644);
      issuedMaster = true;
    }
    return { createdCa, issuedMaster, mode: "online", revokedMaster, pendingCsr: null };
  }

  /** Offline mode, first step: the CA certificate from the offline CA goes into a new master home. */
  initOffline(caCertPem: string, revocationsJson?: string): void {
    if (this.exists()) {
      const same = this.ca.certPem().trim() === caCertPem.trim();
      if (!same) throw new PkiError("wrong-ca", `${this.dir} already holds a different CA certificate`, "use a new master home for a different CA");
      return;
    }
    const cert = parseCertificate(caCertPem, "--ca-cert");
    if (!cert.ca || !cert.checkIssued(cert)) throw new PkiError("wrong-ca", "--ca-cert is not a self-signed CA certificate", "pass the ca.crt made by `pullback ca init --dir DIR`");
    if (revocationsJson !== undefined) verifyRevocationList(revocationsJson, caCertPem);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.ca.write("ca.crt", caCertPem, 0o644);
    if (revocationsJson !== undefined) this.ca.write("revoked.json", revocationsJson, 0o644);
  }

  /** Offline mode: makes the master key (or the next one, on renewal) and returns its CSR path. */
  private async requestMasterCertificate(renew: boolean): Promise<string | null> {
    const hasCert = existsSync(this.p("master.crt"));
    if (hasCert && !renew) return existsSync(this.p(NEXT_CSR)) ? this.p(NEXT_CSR) : null;
    const base = hasCert ? "master-next" : "master";
    // The key is made here and never leaves this directory: only the CSR goes to the CA.
    if (!existsSync(this.p(`${base}.key`))) await writeKeyRequest(this.dir, base, MASTER_COMMON_NAME);
    return this.p(`${base}.csr`);
  }

  /**
   * Offline mode: installs the certificate the offline CA signed for master.csr (first install) or
   * master-next.csr (renewal). Returns the serial it replaced, which the CA operator must revoke.
   */
  installMasterCertificate(certPem: string): { serial: string; replaced: string | null } {
    if (this.mode() === "online") throw new PkiError("wrong-ca", "this master holds its CA key (online mode) and issues its own certificate", hints.renewMaster());
    const info = verifyCertificate(certPem, this.ca.certPem(), { role: "master" });
    const remedy = "sign the master's current .csr file (see `pullback init`) and install that certificate";
    const next = existsSync(this.p(NEXT_KEY)) && existsSync(this.p("master.crt"));
    const keyName = next ? NEXT_KEY : "master.key";
    assertKeyMatchesCertificate(readFileSync(this.p(keyName), "utf8"), certPem, "signed master certificate", remedy);
    const replaced = existsSync(this.p("master.crt")) ? describeCertificate(new X509Certificate(readFileSync(this.p("master.crt")))).serial : null;
    if (next) renameSync(this.p(NEXT_KEY), this.p("master.key"));
    this.ca.write("master.crt", certPem, 0o644);
    rmSync(this.p(next ? NEXT_CSR : "master.csr"), { force: true });
    this.ca.record(MASTER_RECORD_NAME, certPem);
    return { serial: info.serial, replaced: replaced === info.serial ? null : replaced };
  }

  /**
   * Takes a revocation list signed by our CA (from `pullback ca crl`); refuses one older than the
   * list already held, so an old file cannot bring a revoked certificate back.
   */
  importRevocations(json: string): RevocationListFile {
    const list = verifyRevocationList(json, this.ca.certPem());
    if (existsSync(this.p("revoked.json"))) {
      const current = this.revocationList();
      if (new Date(list.issuedAt) < new Date(current.issuedAt)) {
        throw new PkiError("bad-revocation-list", `this list (${list.issuedAt}) is older than the one the master holds (${current.issuedAt})`, "export a current list with `pullback ca crl --dir DIR`");
      }
    }
    this.ca.write("revoked.json", JSON.stringify(list, null, 2) + "\n", 0o644);
    return list;
  }

  masterIdentity(): TlsIdentity {
    if (!existsSync(this.p("master.crt"))) {
      throw new PkiError(
        "missing-file",
        `the master has no certificate yet in ${this.dir}`,
        "sign master.csr on the CA machine with `pullback ca sign --dir DIR --master master.csr --out master.crt`, then install it with `pullback init --master-cert master.crt`",
      );
    }
    return loadTlsIdentity({ ca: this.p("ca.crt"), cert: this.p("master.crt"), key: this.p("master.key"), revocations: this.p("revoked.json") }, "master").identity;
  }

  revocationList(): RevocationListFile {
    if (!existsSync(this.p("revoked.json"))) {
      throw new PkiError("missing-file", `no revocation list in ${this.dir}`, "import the offline CA's list with `pullback revocations import FILE` (made by `pullback ca crl --dir DIR`)");
    }
    return verifyRevocationList(readFileSync(this.p("revoked.json"), "utf8"), this.ca.certPem());
  }

  issued(): IssuedRecord[] {
    return this.ca.issued();
  }
}
