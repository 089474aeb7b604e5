/**
 * uid/gid → name, read once from /etc/passwd and /etc/group. Names are recorded for the operator's
 * benefit (and for a future restore-by-name); restores use the numeric ids, like tar --numeric-owner.
 */
import { readFileSync } from "node:fs";

function parse(file: string): Map<number, string> {
  const m = new Map<number, string>();
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return m;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2] ?? "")) m.set(Number(f[2]), f[0]);
  }
  return m;
}

let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

export function userName(uid: number): string | undefined {
  users ??= parse("/etc/passwd");
  return users.get(uid);
}

export function groupName(gid: number): string | undefined {
  groups ??= parse("/etc/group");
  return groups.get(gid);
}
