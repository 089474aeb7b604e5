/**
 * `pullback enroll` for the CLI and the coming API: issue a node's certificate and write the agent
 * bundle the node installs (its agent.yaml, the CA, its certificate and key, the revocation list).
 */
import { writeAgentBundle, assertBundlePathFree } from "./agent-bundle.js";
import { enrollNode, type Enrollment, type NodeCredential } from "./enrollment.js";
import type { MasterPki } from "./master-pki.js";

export interface BundleRequest {
  node: string;
  credential: NodeCredential;
  /** Where to write the bundle; refused if it exists, unless `force`. */
  bundlePath: string;
  force: boolean;
  /** The agent's listen address (HOST:PORT). */
  listen: string;
  /** Directories the node lets the master back up. */
  backupAllow: string[];
  /** Directories the node lets the master restore into. */
  restoreAllow: string[];
}

export async function enrollWithBundle(pki: MasterPki, r: BundleRequest): Promise<Enrollment> {
  // Refuse before issuing, so a refused bundle path does not leave a recorded, unused certificate.
  if (!r.force) assertBundlePathFree(r.bundlePath);
  const issued = await enrollNode(pki, r.node, r.credential);
  writeAgentBundle(
    r.bundlePath,
    {
      agentYaml: agentYaml(r.node, r.listen, r.backupAllow, r.restoreAllow),
      caCertPem: issued.caCertPem,
      certPem: issued.certPem,
      keyPem: issued.keyPem,
      revocationsJson: JSON.stringify(issued.revocations, null, 2) + "\n",
    },
    { force: r.force },
  );
  return issued;
}

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
