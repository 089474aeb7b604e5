import { readFileSync } from "node:fs";
import { initMaster, type InitPki } from "../../home/init-master.js";
import { EXIT } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { str, type Command } from "../command.js";

function readOption(path: string | undefined, option: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${option} ${path}: ${(e as Error).message}`);
  }
}

function pkiLines(pki: InitPki): string[] {
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
    const data = await initMaster(homeDir, {
      ...(caCert !== undefined ? { caCertPem: caCert } : {}),
      ...(revocations !== undefined ? { revocationsJson: revocations } : {}),
      ...(masterCert !== undefined ? { masterCertPem: masterCert } : {}),
      renewMasterCert: values["renew-master-cert"] === true,
    });
    out.result(data, () =>
      [
        `${data.created ? "Created" : "Found"} master home ${data.home}`,
        `  config:  ${data.config}`,
        `  store:   ${data.store}`,
        `  pki:     ${data.pki}${data.createdCa ? " (new private CA)" : ""}${data.issuedMaster ? " (new master certificate)" : ""}`,
        ...pkiLines(data),
        `  catalog: ${data.catalog === "embedded" ? "embedded PostgreSQL in the home directory" : "external PostgreSQL (databaseUrl / DATABASE_URL)"}`,
      ].join("\n"),
    );
    return EXIT.OK;
  },
};
