/**
 * Enrollment: the certificate a node gets, from one of three sources. Online mode can make the
 * node's key here (the classic bundle) or sign the node's CSR; offline mode only installs a
 * certificate the offline CA signed. With a CSR or a signed certificate the node's key never
 * leaves the node, and the bundle carries no key.
 */
import { PkiError, Revocations, verifyCertificate, type RevocationListFile } from "@pullback/common/pki/index";
import type { IssuedRecord } from "./ca-directory.js";
import type { MasterPki } from "./master-pki.js";

export type NodeCredential = { kind: "new-key" } | { kind: "csr"; pem: string } | { kind: "signed-cert"; pem: string };

export interface Enrollment {
  certPem: string;
  keyPem: string | null;
  caCertPem: string;
  revocations: RevocationListFile;
  record: IssuedRecord;
}

/** What the operator does when the master cannot sign: the node makes a key, the offline CA signs. */
export function offlineEnrollSteps(node: string): string {
  return [
    `on ${node}: pullback-agent keygen --dir /etc/pullback-agent/pki --node ${node}   (writes agent.key, which stays there, and agent.csr)`,
    `on the CA machine: pullback ca sign --dir CA_DIR --node ${node} agent.csr --out ${node}.crt`,
    `on the master: pullback enroll ${node} --cert ${node}.crt --allow DIR ...`,
  ].join("\n");
}

export async function enrollNode(pki: MasterPki, node: string, credential: NodeCredential): Promise<Enrollment> {
  const offline = pki.mode() === "offline";
  if (offline && credential.kind !== "signed-cert") {
    throw new PkiError("missing-file", `this master has no CA key (offline CA mode) and cannot sign for ${node}`, `have the offline CA sign the node's own key:\n${offlineEnrollSteps(node)}`);
  }
  let certPem: string;
  let keyPem: string | null = null;
  let record: IssuedRecord;
  if (credential.kind === "new-key") {
    const issued = await pki.ca.issueAgent(node);
    ({ certPem, keyPem, record } = issued);
  } else if (credential.kind === "csr") {
    ({ certPem, record } = pki.ca.signCsr(credential.pem, { role: "agent", node }));
  } else {
    // Checked like the agent will check it at startup, so a wrong file is caught here, not on the node.
    verifyCertificate(credential.pem, pki.ca.certPem(), { role: "agent", nodeName: node, revocations: revocationsOf(pki) });
    certPem = credential.pem;
    record = pki.ca.record(node, certPem);
  }
  return { certPem, keyPem, caCertPem: pki.ca.certPem(), revocations: pki.revocationList(), record };
}

function revocationsOf(pki: MasterPki): Revocations {
  const r = new Revocations(pki.ca.certPem());
  r.adopt(pki.revocationList());
  return r;
}
