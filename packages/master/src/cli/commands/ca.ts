/**
 * `pullback ca …`: the offline CA. Run on a machine that is not the master (or with --dir on
 * removable media), so a compromised master process cannot mint certificates. The master then holds
 * only the CA certificate, its own key and certificate, and the signed revocation list.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { CaDirectory, type SignFor } from "../../pki/ca-directory.js";
import { EXIT } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { str, type Command, type OptionValues } from "../command.js";

function caDir(values: OptionValues): string {
  const dir = str(values, "dir");
  if (!dir) throw new UsageError("give --dir DIR: the offline CA's directory (ideally on removable media)");
  return resolve(dir);
}

/** An existing CA directory; a missing one is a usage error that says how to make it. */
function openCa(values: OptionValues): CaDirectory {
  const ca = new CaDirectory(caDir(values));
  if (!ca.hasCertificate()) throw new UsageError(`no CA in ${ca.dir}: create one with \`pullback ca init --dir ${ca.dir}\``);
  return ca;
}

/** Writes to --out FILE (never over an existing file) or prints to stdout. */
function emit(values: OptionValues, text: string): string | null {
  const out = str(values, "out");
  if (!out) {
    process.stdout.write(text);
    return null;
  }
  try {
    writeFileSync(out, text, { flag: "wx", mode: 0o644 });
  } catch (e) {
    throw new UsageError(`cannot write ${out}: ${(e as Error).message}; choose another --out`);
  }
  return resolve(out);
}

export const caInitCommand: Command = {
  name: ["ca", "init"],
  usage: "pullback ca init --dir DIR",
  summary: "offline CA: create a CA in DIR (on another machine or removable media)",
  args: [0, 0],
  options: { dir: { type: "string" } },
  async run({ values, out }) {
    const ca = await CaDirectory.create(caDir(values));
    out.result({ dir: ca.dir, caCert: ca.p("ca.crt"), revocations: ca.p("revoked.json") }, () =>
      [
        `created an offline CA in ${ca.dir} (ca.key never needs to leave it)`,
        `next, on the master: pullback init --offline-ca --ca-cert ca.crt --revocations revoked.json   (copies of ${ca.p("ca.crt")} and ${ca.p("revoked.json")})`,
      ].join("\n"),
    );
    return EXIT.OK;
  },
};

export const caSignCommand: Command = {
  name: ["ca", "sign"],
  usage: "pullback ca sign --dir DIR (--node NODE | --master) CSR [--out FILE]",
  summary: "offline CA: sign a node's or the master's certificate signing request",
  args: [1, 1],
  options: { dir: { type: "string" }, node: { type: "string" }, master: { type: "boolean" }, out: { type: "string" } },
  async run({ positionals, values, out }) {
    const node = str(values, "node");
    if ((node === undefined) === (values.master !== true)) throw new UsageError("say whom the certificate is for: --node NODE (an agent) or --master");
    const signFor: SignFor = node !== undefined ? { role: "agent", node } : { role: "master" };
    const ca = openCa(values);
    let csr: string;
    try {
      csr = readFileSync(positionals[0]!, "utf8");
    } catch (e) {
      throw new UsageError(`cannot read ${positionals[0]}: ${(e as Error).message}`);
    }
    const { certPem, record } = ca.signCsr(csr, signFor);
    const written = emit(values, certPem);
    if (written) {
      const next = signFor.role === "agent" ? `pullback enroll ${record.node} --cert ${written} --allow DIR ...` : `pullback init --master-cert ${written}`;
      const whom = signFor.role === "agent" ? `node ${signFor.node}` : "the master";
      out.result({ ...record, cert: written }, () => `signed certificate ${record.serial} for ${whom} (valid until ${record.notAfter}): ${written}\nnext, on the master: ${next}`);
    }
    return EXIT.OK;
  },
};

export const caRevokeCommand: Command = {
  name: ["ca", "revoke"],
  usage: "pullback ca revoke --dir DIR NODE|SERIAL",
  summary: "offline CA: revoke a node's certificates (or one serial) and re-sign the list",
  args: [1, 1],
  options: { dir: { type: "string" } },
  async run({ positionals, values, out }) {
    const ca = openCa(values);
    const serials = ca.revoke(positionals[0]!);
    out.result({ revoked: serials, revocations: ca.p("revoked.json") }, () =>
      `revoked ${serials.join(", ")}\nnext: copy ${ca.p("revoked.json")} to the master and run \`pullback revocations import FILE\`; agents learn it at the master's next contact`,
    );
    return EXIT.OK;
  },
};

export const caCrlCommand: Command = {
  name: ["ca", "crl"],
  usage: "pullback ca crl --dir DIR [--out FILE]",
  summary: "offline CA: print (or write) the signed revocation list for `pullback revocations import`",
  args: [0, 0],
  options: { dir: { type: "string" }, out: { type: "string" } },
  async run({ values, out }) {
    const written = emit(values, JSON.stringify(openCa(values).revocationList(), null, 2) + "\n");
    if (written) out.result({ revocations: written }, () => `wrote ${written}; on the master: pullback revocations import ${written}`);
    return EXIT.OK;
  },
};
