/**
 * Database names come from the server, and anyone who may create a database chooses them. A name
 * that starts with "-" reads as an option to a tool that takes names in argv (mysqldump
 * `--result-file=/etc/…`, `--plugin-dir=…`), so such names are never handed to a tool: the dump
 * skips them and says so, and the rest of the backup goes on.
 */
export interface ScreenedNames {
  safe: string[];
  /** Names left out of the dump, to be reported as warnings. */
  skipped: string[];
}

export function looksLikeOption(name: string): boolean {
  return name.startsWith("-");
}

export function screenDatabaseNames(names: readonly string[]): ScreenedNames {
  return { safe: names.filter((n) => !looksLikeOption(n)), skipped: names.filter(looksLikeOption) };
}

/** The warning a backup carries for each database it left out. */
export function skippedDatabaseMessage(name: string): string {
  return (
    `database ${JSON.stringify(name)} was not backed up: its name starts with "-", which a dump tool would read as an option ` +
    `(someone who may create databases may be trying to inject one). Rename it (or drop it) if it holds data you need, and check who created it`
  );
}
