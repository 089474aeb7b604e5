/**
 * What a mysql source dumps and how: one mysqldump run over an explicit list of databases, so the
 * whole dump is one consistent snapshot (--single-transaction) and the restore knows exactly which
 * databases it will create.
 */
import type { ConnectionSession } from "./db-connection.js";
import { DbConfigError } from "../errors.js";
import { screenDatabaseNames } from "./db-names.js";
import type { DumpPlan } from "./db-plan.js";
import { runTool } from "./db-tools.js";

/** Server-managed schemas: not user data, and replaying them over a live server does harm. */
export const MYSQL_SYSTEM_DATABASES: ReadonlySet<string> = new Set(["information_schema", "performance_schema", "sys", "mysql"]);

export async function listMysqlDatabases(conn: ConnectionSession, connection: string): Promise<string[]> {
  // Hex, because the client escapes tabs, newlines and backslashes in batch output: the names must
  // arrive exactly as the server holds them, whatever their creator put in.
  const sql = "SELECT HEX(SCHEMA_NAME) FROM information_schema.SCHEMATA ORDER BY 1";
  const out = await runTool(conn.command("mysql", ["--batch", "--skip-column-names", `--execute=${sql}`]), `list databases of connection ${connection}`);
  return out
    .split("\n")
    .filter((l) => l.length > 0)
    .map((hex) => Buffer.from(hex, "hex").toString("utf8"));
}

export async function planMysqlDump(conn: ConnectionSession, connection: string, requested: string[] | null): Promise<DumpPlan> {
  const { safe: databases, skipped } = requested
    ? { safe: requested, skipped: [] }
    : screenDatabaseNames("mysql", (await listMysqlDatabases(conn, connection)).filter((d) => !MYSQL_SYSTEM_DATABASES.has(d)));
  if (databases.length === 0) throw new DbConfigError(`connection ${connection} has no user databases to dump`, "check that the connection's user may see the databases (its grants), or list them with --databases");
  const path = requested ? "mysql/selected-databases.sql" : "mysql/all-databases.sql";
  const args = [
    "--single-transaction",
    "--routines",
    "--triggers",
    "--events",
    // Binary columns as hex keep the dump valid UTF-8 text, whatever the bytes.
    "--hex-blob",
    "--default-character-set=utf8mb4",
    // The date comment would make every dump differ at its end for no information.
    "--skip-dump-date",
    "--databases",
    // Names after "--" are names, whatever they look like (requested ones are screened as well).
    "--",
    ...databases,
  ];
  return { databases, skipped, files: [{ path, format: "sql", command: conn.command("mysqldump", args) }] };
}
