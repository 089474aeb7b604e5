/**
 * Database names come from the server, and anyone who may create a database chooses them. A name
 * that starts with "-" reads as an option to a tool that takes names in argv (mysqldump
 * `--result-file=/etc/…`, `--plugin-dir=…`), so such names are never handed to a tool. pg_dump and
 * pg_dumpall stop the whole dump at a name holding a newline or carriage return, so for postgres
 * those are left out too. Either way the dump skips the database and says so, and the rest of the
 * backup goes on.
 */
import type { DbKind } from "./db-connection.js";

export interface SkippedDatabase {
  name: string;
  reason: string;
}

export interface ScreenedNames {
  safe: string[];
  skipped: SkippedDatabase[];
}

export function looksLikeOption(name: string): boolean {
  return name.startsWith("-");
}

function unsafeBecause(kind: DbKind, name: string): string | undefined {
  if (looksLikeOption(name)) return 'its name starts with "-", which a dump tool would read as an option';
  if (kind === "postgres" && /[\r\n]/.test(name)) return "its name holds a line break, which makes pg_dump and pg_dumpall stop the whole dump";
  return undefined;
}

export function screenDatabaseNames(kind: DbKind, names: readonly string[]): ScreenedNames {
  const out: ScreenedNames = { safe: [], skipped: [] };
  for (const name of names) {
    const reason = unsafeBecause(kind, name);
    if (reason) out.skipped.push({ name, reason });
    else out.safe.push(name);
  }
  return out;
}

/** The warning a backup carries for each database it left out. */
export function skippedDatabaseMessage(s: SkippedDatabase): string {
  return (
    `database ${JSON.stringify(s.name)} was not backed up: ${s.reason} (someone who may create databases may be attacking the backup). ` +
    `Rename it (or drop it) if it holds data you need, and check who created it`
  );
}
