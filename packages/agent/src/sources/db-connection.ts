/**
 * Turns a named connection of the agent's config into what the client tools need. Secrets travel
 * only through files and the child's environment (readable by the same user or root, like the
 * config itself), never through argv, which every user on the node can read in `ps`.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfig, DatabaseConfig } from "../config/agent-config.js";
import { baseToolEnv, type DbTool, type ToolCommand } from "./db-tools.js";

export type DbKind = DatabaseConfig["type"];

export class DbConfigError extends Error {
  override readonly name = "DbConfigError";
}

/** The connection a source or restore names, or an error listing the ones this node has. */
export function findConnection(cfg: AgentConfig, kind: DbKind, name: string | undefined): { name: string; db: DatabaseConfig } {
  const candidates = Object.entries(cfg.databases).filter(([, d]) => d.type === kind).map(([n]) => n);
  const offer = candidates.length ? `this node has: ${candidates.join(", ")}` : `this node's agent config has no ${kind} connection under databases:`;
  if (!name) throw new DbConfigError(`the ${kind} source names no connection (params.connection); ${offer}`);
  const db = cfg.databases[name];
  if (!db || db.type !== kind) throw new DbConfigError(`no ${kind} connection named ${JSON.stringify(name)} on this node; ${offer}`);
  return { name, db };
}

async function readPassword(file: string, connection: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new DbConfigError(`connection ${connection}: cannot read its password file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return text.split(/\r?\n/, 1)[0] ?? "";
}

/** Builds tool commands for one connection; `dispose` removes any credential file it had to write. */
export interface ConnectionSession {
  command(tool: DbTool, args: readonly string[], database?: string): ToolCommand;
  dispose(): Promise<void>;
}

export async function openConnection(name: string, db: DatabaseConfig): Promise<ConnectionSession> {
  return db.type === "mysql" ? openMysql(name, db) : openPostgres(name, db);
}

function optionFileValue(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

async function openMysql(name: string, db: DatabaseConfig): Promise<ConnectionSession> {
  let optionsFile = db.optionsFile;
  let tmpDir: string | undefined;
  if (db.passwordFile) {
    // The MySQL tools take a password only from argv, MYSQL_PWD (deprecated) or an option file, and
    // refuse to read an option file from a pipe: a private temporary file it is, removed after use.
    const password = await readPassword(db.passwordFile, name);
    tmpDir = await mkdtemp(join(tmpdir(), "pullback-db-"));
    optionsFile = join(tmpDir, "client.cnf");
    await writeFile(optionsFile, `[client]\npassword=${optionFileValue(password)}\n`, { mode: 0o600 });
  }
  const common: string[] = [];
  // --defaults-extra-file must be the first option or the tools ignore it.
  if (optionsFile) common.push(`--defaults-extra-file=${optionsFile}`);
  if (db.host) common.push(`--host=${db.host}`);
  if (db.port) common.push(`--port=${db.port}`);
  if (db.socket) common.push(`--socket=${db.socket}`);
  if (db.user) common.push(`--user=${db.user}`);
  return {
    command: (tool, args, database) => ({ tool, args: [...common, ...args, ...(database ? [database] : [])], env: baseToolEnv() }),
    dispose: async () => {
      if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(name: string, db: DatabaseConfig): Promise<ConnectionSession> {
  const env = baseToolEnv();
  // Connection parameters through the environment too: one place, and no PG* of the agent leaks in.
  if (db.host) env.PGHOST = db.host;
  if (db.port) env.PGPORT = String(db.port);
  if (db.user) env.PGUSER = db.user;
  if (db.passFile) env.PGPASSFILE = db.passFile;
  if (db.passwordFile) env.PGPASSWORD = await readPassword(db.passwordFile, name);
  env.PGCONNECT_TIMEOUT = "15";
  env.PGAPPNAME = "pullback-agent";
  env.PGDATABASE = db.maintenanceDatabase;
  return {
    // The database goes into PGDATABASE, which libpq takes literally: as an argument, a name holding
    // "=" would be parsed as a connection string.
    command: (tool, args, database) => ({ tool, args: [...args], env: { ...env, ...(database ? { PGDATABASE: database } : {}) } }),
    dispose: async () => undefined,
  };
}
