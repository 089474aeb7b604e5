import { readFileSync } from "node:fs";
import { openCatalog } from "../../catalog/index.js";
import { createHome, databaseUrlFor } from "../../home/master-home.js";
import { MasterPki, type EnsureResult } from "../../pki/master-pki.js";
import { Store } from "../../store/store.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { str, type Command } from "../command.js";

function readOption(path: string | undefined, option: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${option} ${path}: ${(e as Error).message}`);
  }
}

function pkiLines(pki: EnsureResult & { installed?: { serial: string; replaced: string | null } }): string[] {
  const lines: string[] = [];
  if (pki.mode === "offline") lines.push("  ca:      offline (no CA key on this machine)");
  if (pki.revokedMaster) lines.push(`  revoked: old master certificate ${pki.revokedMaster} (agents refuse it from the master's next contact)`);
  if (pki.installed) {
    lines.push(`  master certificate ${pki.installed.serial} installed`);
    if (pki.installed.replaced) {
      lines.push(`  next: revoke the replaced one on the CA machine (pullback ca revoke --dir CA_DIR ${pki.installed.replaced}), then pullback revocations import FILE`);
    }
  }
  if (pki.pendingCsr) {
    lines.push(
      `  next: sign ${pki.pendingCsr} on the CA machine (pullback ca sign --dir CA_DIR --master FILE --out master.crt),`,
      "        then: pullback init --master-cert master.crt",
    );
  }
  return lines;
}

export const initCommand: Command = {
  name: ["init"],
  usage: "pullback init [--home DIR] [--renew-master-cert] [--offline-ca --ca-cert FILE [--revocations FILE]] [--master-cert FILE]",
  summary: "create the master's home: config, private CA (or an offline CA's certificate), store and catalog (idempotent)",
  args: [0, 0],
  options: {
    "renew-master-cert": { type: "boolean" },
    "offline-ca": { type: "boolean" },
    "ca-cert": { type: "string" },
    revocations: { type: "string" },
    "master-cert": { type: "string" },
  },
  async run({ homeDir, values, out }) {
    const caCert = readOption(str(values, "ca-cert"), "--ca-cert");
    if ((values["offline-ca"] === true) !== (caCert !== undefined)) throw new UsageError("--offline-ca needs --ca-cert FILE (the ca.crt from `pullback ca init --dir DIR`), and --ca-cert only goes with --offline-ca");
    const revocations = readOption(str(values, "revocations"), "--revocations");
    const masterCert = readOption(str(values, "master-cert"), "--master-cert");
    const { home, created } = await createHome(homeDir);
    const store = await Store.create(home.storeDir);
    const masterPki = new MasterPki(home.pkiDir);
    if (caCert !== undefined) masterPki.initOffline(caCert, revocations);
    const installed = masterCert !== undefined ? masterPki.installMasterCertificate(masterCert) : undefined;
    const pki = { ...(await masterPki.ensure({ renewMaster: values["renew-master-cert"] === true })), ...(installed ? { installed } : {}) };
    const url = databaseUrlFor(home);
    const opened = await openCatalog({ home: home.dir, ...(url ? { databaseUrl: url } : {}) });
    const embedded = opened.embedded;
    await opened.close();
    const data = { home: home.dir, created, config: home.configPath, store: store.dir, storeId: store.config.id, catalog: embedded ? "embedded" : "external", pki: home.pkiDir, ...pki };
    out.result(data, () =>
      [
        `${created ? "Created" : "Found"} master home ${home.dir}`,
        `  config:  ${home.configPath}`,
        `  store:   ${store.dir}`,
        `  pki:     ${home.pkiDir}${pki.createdCa ? " (new private CA)" : ""}${pki.issuedMaster ? " (new master certificate)" : ""}`,
        ...pkiLines(pki),
        `  catalog: ${embedded ? "embedded PostgreSQL in the home directory" : "external PostgreSQL (databaseUrl / DATABASE_URL)"}`,
      ].join("\n"),
    );
    return EXIT.OK;
  },
};
