/**
 * The server a database restore replays into: which databases already exist, how to clear the ones
 * an overwrite replaces, and which client tool replays each dump file. Engine differences live here
 * so the sink only moves bytes.
 */
import type { ConnectionSession, DbKind } from "../sources/db-connection.js";
import type { DumpFileInfo } from "../sources/db-layout.js";
import { listMysqlDatabases, MYSQL_SYSTEM_DATABASES } from "../sources/db-mysql.js";
import { listPgDatabases, PG_BUILTIN_DATABASES } from "../sources/db-postgres.js";
import { mysqlHasSandbox, psqlCanRestrict } from "../sources/db-tool-features.js";
import { runTool } from "../sources/db-tools.js";
import { DbRestoreRefused } from "../errors.js";
import type { ReplayPlan } from "./db-restore-replay.js";

export interface RestoreTarget {
  existing(): Promise<string[]>;
  drop(databases: readonly string[]): Promise<void>;
  replay(file: DumpFileInfo): Promise<ReplayPlan>;
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
      // The dump is hostile input to the client as well as to the server: --binary-mode turns off
      // every client command but \C and DELIMITER when the input is piped (system, \!, source,
      // tee, connect), --sandbox refuses the file-system ones again where the client has it, and
      // --local-infile=0 stops LOAD DATA LOCAL INFILE from reading this node's files into the server.
      replay: async () => ({
        kind: "stream",
        command: conn.command("mysql", [
          "--batch",
          "--binary-mode",
          ...((await mysqlHasSandbox()) ? ["--sandbox"] : []),
          "--local-infile=0",
          "--default-character-set=utf8mb4",
        ]),
      }),
    };
  }
  return {
    existing: () => listPgDatabases(conn, connection),
    drop: async (dbs) => {
      // FORCE: a backup restore must not wait on sessions someone left open on the old copy.
      const sql = dbs.map((d) => `DROP DATABASE ${pgIdent(d)} WITH (FORCE);`).join("\n");
      await runTool(conn.command("psql", ["-X", "-w", "-q", "-v", "ON_ERROR_STOP=1"], maintenanceDb), `drop databases ${dbs.join(", ")} on connection ${connection}`, sql);
    },
    replay: async (file) => {
      if (file.format === "pg-custom") {
        // pg_restore sends SQL over libpq itself: it has no meta-commands to abuse.
        return { kind: "stream", command: conn.command("pg_restore", ["-w", "--create", "--exit-on-error", `--dbname=${maintenanceDb}`]) };
      }
      if (!(await psqlCanRestrict())) {
        throw new DbRestoreRefused(
          `restore ${file.path}: this node's psql has no \\restrict, so a dump could run shell commands through it (\\!, \\copy … program); ` +
            `upgrade postgresql-client to 13.22, 14.19, 15.14, 16.10, 17.6 or later, or restore the snapshot as files (--target DIR) and review it before loading it by hand`,
        );
      }
      // -f -: errors name their line, so a refused meta-command is easy to find in the dump.
      const psql = (onErrorStop: boolean) => (database: string | undefined) =>
        conn.command("psql", ["-X", "-w", "-q", "-f", "-", ...(onErrorStop ? ["-v", "ON_ERROR_STOP=1"] : [])], database ?? maintenanceDb);
      if (file.database !== undefined) {
        // One database, created by the dump itself (pg_dump --create): any error is real.
        return { kind: "psql-script", command: psql(true) };
      }
      // Cluster-wide files (pg_dumpall) re-create roles, and the role running the restore always
      // exists: PostgreSQL documents that error as expected, so only it is let through.
      return { kind: "psql-script", command: psql(false), tolerated: /ERROR:\s+role "[^"]*" already exists/ };
    },
  };
}
