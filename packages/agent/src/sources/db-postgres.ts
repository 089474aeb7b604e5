/**
 * What a postgres source dumps and how. Default: one pg_dumpall (roles, tablespaces and every
 * database in one SQL file). With a database list or format=custom: the globals from
 * `pg_dumpall --globals-only`, then one pg_dump per database. Each pg_dump is consistent within its
 * database; pg_dumpall itself runs one pg_dump per database too, so neither is consistent across
 * databases.
 */
import type { ConnectionSession } from "./db-connection.js";
import { DbConfigError } from "../errors.js";
import { databaseFileName } from "./db-layout.js";
import { screenDatabaseNames } from "./db-names.js";
import type { DumpPlan } from "./db-plan.js";
import { runTool } from "./db-tools.js";

export type PgDumpFormat = "plain" | "custom";

/** pg_dumpall connects to these rather than creating them; they are never dropped by a restore. */
export const PG_BUILTIN_DATABASES: ReadonlySet<string> = new Set(["postgres", "template0", "template1"]);

export async function listPgDatabases(conn: ConnectionSession, connection: string): Promise<string[]> {
  const sql = "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname";
  // NUL-separated records: a database name may contain a newline.
  const out = await runTool(conn.command("psql", ["-X", "-w", "-A", "-t", "-0", "-v", "ON_ERROR_STOP=1", `--command=${sql}`]), `list databases of connection ${connection}`);
  return out.split("\0").map((s) => s.replace(/\n$/, "")).filter((s) => s.length > 0);
}

/** A --exclude-database pattern that matches exactly `name`: inside double quotes nothing is a wildcard. */
function exactPattern(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function planPgDump(
  conn: ConnectionSession,
  connection: string,
  requested: string[] | null,
  format: PgDumpFormat,
  globals: boolean,
): Promise<DumpPlan> {
  // Names reach the tools only through PGDATABASE, which libpq takes literally (as an argument a
  // name holding "=" is parsed as a connection string); the "-" rule still holds, as for mysql.
  const { safe: databases, skipped } = requested
    ? { safe: requested, skipped: [] }
    : screenDatabaseNames("postgres", (await listPgDatabases(conn, connection)).filter((d) => !PG_BUILTIN_DATABASES.has(d)));
  if (requested === null && format === "plain") {
    const exclude = skipped.map((d) => `--exclude-database=${exactPattern(d.name)}`);
    return { databases, skipped, files: [{ path: "postgres/all-databases.sql", format: "sql", command: conn.command("pg_dumpall", ["-w", ...exclude]) }] };
  }
  if (databases.length === 0) throw new DbConfigError(`connection ${connection} has no user databases to dump`, "check that the connection's user may see the databases (its grants), or list them with --databases");
  const files: DumpPlan["files"] = [];
  if (globals) files.push({ path: "postgres/globals.sql", format: "sql", command: conn.command("pg_dumpall", ["-w", "--globals-only"]) });
  for (const database of databases) {
    files.push(
      format === "plain"
        ? { path: `postgres/${databaseFileName(database, "sql")}`, format: "sql", database, command: conn.command("pg_dump", ["-w", "--create", "--format=plain"], database) }
        : // --compress=0: compressed output would change wholesale with any row and defeat deduplication;
          // the store compresses chunks itself.
          { path: `postgres/${databaseFileName(database, "dump")}`, format: "pg-custom", database, command: conn.command("pg_dump", ["-w", "--format=custom", "--compress=0"], database) },
    );
  }
  return { databases, skipped, files };
}
