import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { assertNodeName } from "@pullback/common/pki/index";
import { openHome } from "../../home/master-home.js";
import { BundleExistsError, UsageError } from "../../errors.js";
import { enrollWithBundle } from "../../pki/enroll-bundle.js";
import type { NodeCredential } from "../../pki/enrollment.js";
import { MasterPki } from "../../pki/master-pki.js";
import { EXIT } from "../exit-codes.js";
import { list, str, type Command } from "../command.js";
import { withContext } from "./with-context.js";

export const enrollCommand: Command = {
  name: ["enroll"],
  usage:
    "pullback enroll NODE --allow DIR... [--restore-allow DIR]... [--listen HOST:PORT] [--address HOST:PORT] [--csr FILE | --cert FILE] [--out FILE] [--force]",
  summary: "issue a node's certificate and write its agent bundle (install it with deploy/install-agent.sh)",
  args: [1, 1],
  options: {
    allow: { type: "string", multiple: true },
    "restore-allow": { type: "string", multiple: true },
    listen: { type: "string", default: "0.0.0.0:7443" },
    address: { type: "string" },
    csr: { type: "string" },
    cert: { type: "string" },
    out: { type: "string" },
    force: { type: "boolean" },
  },
  async run({ positionals, values, homeDir, out }) {
    const node = positionals[0]!;
    assertNodeName(node);
    const backupAllow = list(values, "allow");
    if (backupAllow.length === 0) throw new UsageError("give at least one --allow DIR: the directories this node lets the master back up");
    for (const d of [...backupAllow, ...list(values, "restore-allow")]) if (!d.startsWith("/")) throw new UsageError(`${d} is not an absolute path`);
    const csr = str(values, "csr");
    const cert = str(values, "cert");
    if (csr && cert) throw new UsageError("give --csr (the master signs it) or --cert (signed by the offline CA), not both");
    const home = openHome(homeDir);
    const pki = new MasterPki(home.pkiDir);
    if (!pki.exists()) throw new UsageError(`no CA in ${home.pkiDir}: run \`pullback init\` first`);
    const bundle = resolve(str(values, "out") ?? `${node}.agent-bundle.tar.gz`);
    const credential: NodeCredential = csr ? { kind: "csr", pem: readInput(csr, "--csr") } : cert ? { kind: "signed-cert", pem: readInput(cert, "--cert") } : { kind: "new-key" };
    const enrolled = await refusedBundleIsUsageError(() =>
      enrollWithBundle(pki, { node, credential, bundlePath: bundle, force: values.force === true, listen: str(values, "listen")!, backupAllow, restoreAllow: list(values, "restore-allow") }),
    );
    const address = str(values, "address");
    if (address) await withContext(homeDir, async (ctx) => (await ctx.catalog()).nodes.ensure(node, address));
    const record = enrolled.record;
    const keyNote = enrolled.keyPem
      ? "contains the node's private key: copy it to the node securely, then delete it"
      : "no private key inside: unpack it over the node's config directory, where keygen left agent.key";
    out.result({ node, bundle, serial: record.serial, notAfter: record.notAfter, address: address ?? null, containsKey: enrolled.keyPem !== null }, () =>
      [
        `issued certificate ${record.serial} for ${node} (valid until ${record.notAfter})`,
        `agent bundle: ${bundle} (${keyNote})`,
        `on the node: sudo bash install-agent.sh --bundle ${node}.agent-bundle.tar.gz --software pullback-agent-VERSION.tar.gz (built by "npm run package:agent")`,
        ...(address ? [] : [`then: pullback node add ${node} --address HOST:PORT`]),
      ].join("\n"),
    );
    return EXIT.OK;
  },
};

/** A bundle path that is taken is the operator's to fix: a usage error, not a failure. */
async function refusedBundleIsUsageError<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof BundleExistsError) throw new UsageError(e.message);
    throw e;
  }
}

function readInput(path: string, option: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${option} ${path}: ${(e as Error).message}`);
  }
}

export const revokeCommand: Command = {
  name: ["revoke"],
  usage: "pullback revoke NODE|SERIAL",
  summary: "revoke a node's certificates (or one serial); agents learn it at the master's next contact",
  args: [1, 1],
  async run({ positionals, homeDir, out }) {
    const pki = new MasterPki(openHome(homeDir).pkiDir);
    const serials = pki.ca.revoke(positionals[0]!);
    out.result({ revoked: serials }, () => `revoked ${serials.join(", ")}; re-enroll the node to give it a new certificate`);
    return EXIT.OK;
  },
};

export const revocationsExportCommand: Command = {
  name: ["revocations", "export"],
  usage: "pullback revocations export",
  summary: "print the CA-signed revocation list (copy to an agent's pki/revoked.json)",
  args: [0, 0],
  async run({ homeDir }) {
    const pki = new MasterPki(openHome(homeDir).pkiDir);
    process.stdout.write(JSON.stringify(pki.revocationList(), null, 2) + "\n");
    return EXIT.OK;
  },
};

export const revocationsImportCommand: Command = {
  name: ["revocations", "import"],
  usage: "pullback revocations import FILE",
  summary: "take a revocation list signed by the offline CA (`pullback ca crl`); agents get it at the next contact",
  args: [1, 1],
  async run({ positionals, homeDir, out }) {
    const pki = new MasterPki(openHome(homeDir).pkiDir);
    const list = pki.importRevocations(readInput(positionals[0]!, "revocation list"));
    out.result({ issuedAt: list.issuedAt, serials: list.serials }, () => `imported the revocation list of ${list.issuedAt} (${list.serials.length} revoked)`);
    return EXIT.OK;
  },
};
