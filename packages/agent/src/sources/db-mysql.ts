/**
 * What a mysql source dumps and how: one mysqldump run over an explicit list of databases, so the
 * whole dump is one consistent snapshot (--single-transaction) and the restore knows exactly which
 * databases it will create.
 */
import type { ConnectionSession } from "./db-connection.js";
import { DbConfigError } from "./db-connection.js";
import type { DumpPlan } from "./db-plan.js";
import { runTool } from "./db-tools.js";

/** Server-managed schemas: not user data, and replaying them over a live server does harm. */
export const MYSQL_SYSTEM_DATABASES: ReadonlySet<string> = new Set(["information_schema", "performance_schema", "sys", "mysql"]);

export async function listMysqlDatabases(conn: ConnectionSession, connection: string): Promise<string[]> {
  const out = await runTool(conn.command("mysql", ["--batch", "--skip-column-names", "--execute=SHOW DATABASES"]), `list databases of connection ${connection}`);
  return out.split("\n").filter((l) => l.length > 0);
}

export async function planMysqlDump(conn: ConnectionSession, connection: string, requested: string[] | null): Promise<DumpPlan> {
  const databases = requested ?? (await listMysqlDatabases(conn, connection)).filter((d) => !MYSQL_SYSTEM_DATABASES.has(d));
  if (databases.length === 0) throw new DbConfigError(`connection ${connection} has no user databases to dump`);
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
    ...databases,
  ];
  return { databases, files: [{ path, format: "sql", command: conn.command("mysqldump", args) }] };
}
