import type { PeerCertificate } from "node:tls";
import { PkiError } from "../errors.js";
import { hints } from "./hints.js";
import { normalizeSerial } from "./names.js";
import { parseSubjectAltName, roleOf, type Role } from "./roles.js";
import type { Revocations } from "./revocation.js";

/** OIDs as Node reports them in PeerCertificate.ext_key_usage. */
const EKU_OID = { serverAuth: "1.3.6.1.5.5.7.3.1", clientAuth: "1.3.6.1.5.5.7.3.2" } as const;

export interface PeerIdentity {
  role: Role;
  serial: string;
  commonName: string;
  dnsNames: string[];
}

/**
 * Checks a TLS peer that OpenSSL has already chained to our CA (and found in its validity period)
 * for what OpenSSL cannot know: its Pullback role, its node name, and our revocation list.
 * Returns the refusal instead of throwing so each side can deliver it its own way (handshake error
 * on the master, PERMISSION_DENIED status on the agent).
 */
export function checkPeer(
  cert: PeerCertificate | undefined,
  expect: { role: Role; nodeName?: string; revocations: Revocations },
): PeerIdentity | PkiError {
  const isAgent = expect.role === "agent";
  const who = isAgent ? `the agent answering for ${expect.nodeName ?? "?"}` : "the connecting master";
  if (!cert || !cert.raw) {
    return new PkiError("wrong-ca", `${who} presented no certificate`, isAgent ? hints.reenrollAgent(expect.nodeName) : hints.renewMaster());
  }
  const serial = normalizeSerial(cert.serialNumber);
  const role = roleOf(cert.subjectaltname);
  const dnsNames = parseSubjectAltName(cert.subjectaltname).dns;
  const eku = isAgent ? EKU_OID.serverAuth : EKU_OID.clientAuth;
  // Node types subject fields as string | string[] (repeated attributes); we issue one CN.
  const cnField = cert.subject?.CN;
  const commonName = Array.isArray(cnField) ? cnField.join("+") : (cnField ?? "");
  const id = `${commonName || "?"} (serial ${serial})`;
  if (role !== expect.role || !(cert.ext_key_usage ?? []).includes(eku)) {
    return new PkiError(
      "wrong-role",
      `${who} presented certificate ${id} with role ${role ?? "none"}, expected ${expect.role}`,
      isAgent
        ? `make sure the address reaches an agent; ${hints.reenrollAgent(expect.nodeName)}`
        : "only the master's client certificate may call an agent; configure the master with its own certificate",
    );
  }
  if (expect.nodeName !== undefined && !dnsNames.includes(expect.nodeName)) {
    return new PkiError(
      "wrong-name",
      `${who} presented the certificate of ${dnsNames.join(", ") || "no node"} ${id}`,
      `check the node's address in the master configuration (it reaches another node), or ${hints.reenrollAgent(expect.nodeName)}`,
    );
  }
  if (expect.revocations.has(serial)) {
    return new PkiError(
      "revoked",
      `${who} presented revoked certificate ${id}`,
      isAgent ? hints.reenrollAgent(expect.nodeName) : hints.renewMaster(),
    );
  }
  return { role, serial, commonName, dnsNames };
}
