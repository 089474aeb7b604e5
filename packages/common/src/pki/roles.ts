/**
 * A certificate's role is carried as a SAN URI (`pullback:role:master` / `pullback:role:agent`).
 * A SAN URI, unlike a free-form OU, is machine-checkable and is covered by the CA's signature like
 * every other extension; the OU repeats it only for humans reading `openssl x509 -text`.
 * The extended key usage (clientAuth for the master, serverAuth for agents) makes OpenSSL itself
 * refuse a certificate used the wrong way round; the role check is the second, explicit lock.
 */
export type Role = "master" | "agent";

export const ROLE_URI_PREFIX = "pullback:role:";

export function roleUri(role: Role): string {
  return ROLE_URI_PREFIX + role;
}

/** Parsed form of Node's subjectAltName string, e.g. `DNS:web1, URI:pullback:role:agent`. */
export interface AltNames {
  dns: string[];
  uris: string[];
}

export function parseSubjectAltName(san: string | undefined): AltNames {
  const out: AltNames = { dns: [], uris: [] };
  if (!san) return out;
  // Our names never contain ", " or quotes (see assertNodeName), so a plain split is exact for
  // certificates we issue; anything odd simply fails to match.
  for (const part of san.split(", ")) {
    if (part.startsWith("DNS:")) out.dns.push(part.slice(4));
    else if (part.startsWith("URI:")) out.uris.push(part.slice(4));
  }
  return out;
}

export function roleOf(san: string | undefined): Role | null {
  const roles = parseSubjectAltName(san)
    .uris.filter((u) => u.startsWith(ROLE_URI_PREFIX))
    .map((u) => u.slice(ROLE_URI_PREFIX.length));
  // Exactly one role: a certificate claiming both is not something we issue.
  if (roles.length !== 1) return null;
  return roles[0] === "master" || roles[0] === "agent" ? roles[0] : null;
}
