/**
 * The server a database restore replays into: which databases already exist, how to clear the ones
 * an overwrite replaces, and which client tool replays each dump file. Engine differences live here
 * so the sink only moves bytes.
 */
import type { ConnectionSession, DbKind } from "../sources/db-connection.js";
import type { DumpFileInfo } from "../sources/db-layout.js";
import { listMysqlDatabases, MYSQL_SYSTEM_DATABASES } from "../sources/db-mysql.js";
import { listPgDatabases, PG_BUILTIN_DATABASES } from "../sources/db-postgres.js";
import { runTool, type ToolCommand } from "../sources/db-tools.js";

export interface RestoreTarget {
  existing(): Promise<string[]>;
  drop(databases: readonly string[]): Promise<void>;
  replay(file: DumpFileInfo): { command: ToolCommand; tolerated?: RegExp };
}

const mysqlIdent = (s: string) => `\`${s.replace(/`/g, "``")}\``;
const pgIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** A restore never drops what the server itself owns, whatever a snapshot lists. */
export function droppable(kind: DbKind, database: string): boolean {
  return !(kind === "mysql" ? MYSQL_SYSTEM_DATABASES : PG_BUILTIN_DATABASES).has(database);
}

export function restoreTarget(kind: DbKind, conn: ConnectionSession, connection: string, maintenanceDb: string): RestoreTarget {
  if (kind === "mysql") {
    return {
      existing: () => listMysqlDatabases(conn, connection),
      drop: async (dbs) => {
        const sql = dbs.map((d) => `DROP DATABASE ${mysqlIdent(d)};`).join("\n");
        await runTool(conn.command("mysql", ["--batch"]), `drop databases ${dbs.join(", ")} on connection ${connection}`, sql);
      },
      // The dump creates its databases and switches with USE; the client stops at the first error.
      replay: () => ({ command: conn.command("mysql", ["--batch", "--binary-mode", "--default-character-set=utf8mb4"]) }),
    };
  }
  return {
    existing: () => listPgDatabases(conn, connection),
    drop: async (dbs) => {
      // FORCE: a backup restore must not wait on sessions someone left open on the old copy.
      const sql = dbs.map((d) => `DROP DATABASE ${pgIdent(d)} WITH (FORCE);`).join("\n");
      await runTool(conn.command("psql", ["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1"], maintenanceDb), `drop databases ${dbs.join(", ")} on connection ${connection}`, sql);
    },
    replay: (file) => {
      if (file.format === "pg-custom") {
        return { command: conn.command("pg_restore", ["-w", "--create", "--exit-on-error", `--dbname=${maintenanceDb}`]) };
      }
      if (file.database !== undefined) {
        // One database, created by the dump itself (pg_dump --create): any error is real.
        return { command: conn.command("psql", ["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1"], maintenanceDb) };
      }
      // Cluster-wide files (pg_dumpall) re-create roles, and the role running the restore always
      // exists: PostgreSQL documents that error as expected, so only it is let through.
      return { command: conn.command("psql", ["-X", "-w", "-q"], maintenanceDb), tolerated: /ERROR:\s+role "[^"]*" already exists/ };
    },
  };
}
