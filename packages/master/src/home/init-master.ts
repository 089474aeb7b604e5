/**
 * `pullback init` for the CLI and the coming API: create (or find) the master's home, its store, its
 * PKI (a private CA, or an offline CA's certificate) and its catalog. Idempotent: running it again
 * changes only what was asked (a renewed or installed master certificate).
 */
import { openCatalog } from "../catalog/index.js";
import { MasterPki, type EnsureResult } from "../pki/master-pki.js";
import { Store } from "../store/store.js";
import { createHome, databaseUrlFor } from "./master-home.js";

export interface InitRequest {
  /** An offline CA's certificate: the master then holds no CA key. */
  caCertPem?: string;
  /** The offline CA's signed revocation list, with caCertPem. */
  revocationsJson?: string;
  /** A master certificate the offline CA signed. */
  masterCertPem?: string;
  renewMasterCert: boolean;
}

export type InitPki = EnsureResult & { installed?: { serial: string; replaced: string | null } };

export interface InitResult extends InitPki {
  home: string;
  created: boolean;
  config: string;
  store: string;
  storeId: string;
  catalog: "embedded" | "external";
  pki: string;
}

export async function initMaster(homeDir: string, r: InitRequest): Promise<InitResult> {
  const { home, created } = await createHome(homeDir);
  const store = await Store.create(home.storeDir);
  const masterPki = new MasterPki(home.pkiDir);
  if (r.caCertPem !== undefined) masterPki.initOffline(r.caCertPem, r.revocationsJson);
  const installed = r.masterCertPem !== undefined ? masterPki.installMasterCertificate(r.masterCertPem) : undefined;
  const pki: InitPki = { ...(await masterPki.ensure({ renewMaster: r.renewMasterCert })), ...(installed ? { installed } : {}) };
  const url = databaseUrlFor(home);
  const opened = await openCatalog({ home: home.dir, ...(url ? { databaseUrl: url } : {}) });
  const embedded = opened.embedded;
  await opened.close();
  return { home: home.dir, created, config: home.configPath, store: store.dir, storeId: store.config.id, catalog: embedded ? "embedded" : "external", pki: home.pkiDir, ...pki };
}
