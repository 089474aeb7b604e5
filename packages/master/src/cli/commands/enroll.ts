import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assertNodeName } from "@pullback/common/pki/index";
import { openHome } from "../../home/master-home.js";
import { MasterPki } from "../../pki/master-pki.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { list, str, type Command } from "../command.js";
import { withContext } from "./with-context.js";

function agentYaml(node: string, listen: string, backupAllow: string[], restoreAllow: string[]): string {
  const items = (xs: string[]) => (xs.length ? xs.map((x) => `    - ${x}`).join("\n") : "    []");
  return `# Pullback agent for ${node}. The node decides: the master can only read what backup.allow lists
# and write restores below restore.allow. Edit freely; \`pullback-agent check\` validates it.
listen: ${listen}
node: ${node}
pki: pki
backup:
  allow:
${items(backupAllow)}
restore:
  allow:
${restoreAllow.length ? items(restoreAllow) : "    []"}
hooks: {}
log:
  level: info
`;
}

export const enrollCommand: Command = {
  name: ["enroll"],
  usage: "pullback enroll NODE --allow DIR... [--restore-allow DIR]... [--listen HOST:PORT] [--address HOST:PORT] [--out FILE]",
  summary: "issue a node's certificate and write its agent bundle (install it with deploy/install-agent.sh)",
  args: [1, 1],
  options: {
    allow: { type: "string", multiple: true },
    "restore-allow": { type: "string", multiple: true },
    listen: { type: "string", default: "0.0.0.0:7443" },
    address: { type: "string" },
    out: { type: "string" },
  },
  async run({ positionals, values, homeDir, out }) {
    const node = positionals[0]!;
    assertNodeName(node);
    const backupAllow = list(values, "allow");
    if (backupAllow.length === 0) throw new UsageError("give at least one --allow DIR: the directories this node lets the master back up");
    for (const d of [...backupAllow, ...list(values, "restore-allow")]) if (!d.startsWith("/")) throw new UsageError(`${d} is not an absolute path`);
    const home = openHome(homeDir);
    const pki = new MasterPki(home.pkiDir);
    if (!pki.exists()) throw new UsageError(`no CA in ${home.pkiDir}: run \`pullback init\` first`);
    const issued = await pki.issueAgent(node);
    const bundle = resolve(str(values, "out") ?? `${node}.agent-bundle.tar.gz`);
    const tmp = mkdtempSync(join(tmpdir(), "pullback-enroll-"));
    try {
      mkdirSync(join(tmp, "pki"), { mode: 0o700 });
      writeFileSync(join(tmp, "agent.yaml"), agentYaml(node, str(values, "listen")!, backupAllow, list(values, "restore-allow")), { mode: 0o600 });
      writeFileSync(join(tmp, "pki/ca.crt"), pki.ca().certPem, { mode: 0o644 });
      writeFileSync(join(tmp, "pki/agent.crt"), issued.certPem, { mode: 0o644 });
      writeFileSync(join(tmp, "pki/agent.key"), issued.keyPem, { mode: 0o600 });
      writeFileSync(join(tmp, "pki/revoked.json"), JSON.stringify(pki.revocationList(), null, 2) + "\n", { mode: 0o644 });
      // The bundle holds the node's private key: readable by its owner only.
      const r = spawnSync("tar", ["-czf", bundle, "-C", tmp, "agent.yaml", "pki"], { encoding: "utf8", env: { ...process.env, UMASK: "077" } });
      if (r.status !== 0) throw new Error(`cannot write ${bundle}: ${r.stderr || r.error?.message}`);
      spawnSync("chmod", ["600", bundle]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const address = str(values, "address");
    if (address) await withContext(homeDir, async (ctx) => (await ctx.catalog()).ensureNode(node, address));
    out.result({ node, bundle, serial: issued.record.serial, notAfter: issued.record.notAfter, address: address ?? null }, () =>
      [
        `issued certificate ${issued.record.serial} for ${node} (valid until ${issued.record.notAfter})`,
        `agent bundle: ${bundle} (contains the node's private key: copy it to the node securely, then delete it)`,
        `on the node: sudo bash install-agent.sh --bundle ${node}.agent-bundle.tar.gz --software pullback-agent-VERSION.tar.gz (built by "npm run package:agent")`,
        ...(address ? [] : [`then: pullback node add ${node} --address HOST:PORT`]),
      ].join("\n"),
    );
    return EXIT.OK;
  },
};

export const revokeCommand: Command = {
  name: ["revoke"],
  usage: "pullback revoke NODE|SERIAL",
  summary: "revoke a node's certificates (or one serial); agents learn it at the master's next contact",
  args: [1, 1],
  async run({ positionals, homeDir, out }) {
    const pki = new MasterPki(openHome(homeDir).pkiDir);
    const serials = pki.revoke(positionals[0]!);
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
