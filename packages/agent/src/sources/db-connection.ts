/**
 * Turns a named connection of the agent's config into what the client tools need. Secrets travel
 * only through files and the child's environment (readable by the same user or root, like the
 * config itself), never through argv, which every user on the node can read in `ps`. With `runAs`
 * the tools run as that user, and get their own copies of the credentials (db-run-as.ts).
 */
import type { AgentConfig, DatabaseConfig } from "../config/agent-config.js";
import { DbConfigError } from "../errors.js";
import { privateDir, readCredential, resolveRunAs, writeCredential, type PrivateDir, type ToolIdentity } from "./db-run-as.js";
import { baseToolEnv, type DbTool, type ToolCommand } from "./db-tools.js";

export type DbKind = DatabaseConfig["type"];

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
  return (await readCredential(file, "password file", connection)).split(/\r?\n/, 1)[0] ?? "";
}

/** Builds tool commands for one connection; `dispose` removes any credential file it had to write. */
export interface ConnectionSession {
  command(tool: DbTool, args: readonly string[], database?: string): ToolCommand;
  dispose(): Promise<void>;
}

export async function openConnection(name: string, db: DatabaseConfig): Promise<ConnectionSession> {
  const owner = db.runAs ? await resolveRunAs(db.runAs, name) : undefined;
  const dir = privateDir(owner);
  try {
    const made = db.type === "mysql" ? await openMysql(name, db, dir, owner) : await openPostgres(name, db, dir, owner);
    const as = owner ? { identity: { uid: owner.uid, gid: owner.gid }, cwd: await dir.path() } : {};
    return { command: (tool, args, database) => ({ ...made(tool, args, database), ...as }), dispose: dir.dispose };
  } catch (err) {
    await dir.dispose();
    throw err;
  }
}

type CommandMaker = ConnectionSession["command"];

function optionFileValue(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The tools' HOME: with runAs, their private directory, so no dotfile of root's is read. */
async function toolEnv(dir: PrivateDir, owner: ToolIdentity | undefined): Promise<NodeJS.ProcessEnv> {
  const env = baseToolEnv();
  if (owner) env.HOME = await dir.path();
  return env;
}

async function openMysql(name: string, db: DatabaseConfig, dir: PrivateDir, owner: ToolIdentity | undefined): Promise<CommandMaker> {
  let optionsFile = db.optionsFile;
  if (db.passwordFile) {
    // The MySQL tools take a password only from argv, MYSQL_PWD (deprecated) or an option file, and
    // refuse to read an option file from a pipe: a private temporary file it is, removed after use.
    const password = await readPassword(db.passwordFile, name);
    optionsFile = await writeCredential(await dir.path(), "client.cnf", `[client]\npassword=${optionFileValue(password)}\n`, owner);
  } else if (db.optionsFile && owner) {
    // Root's option file stays root's; the tools' user reads a copy.
    optionsFile = await writeCredential(await dir.path(), "client.cnf", await readCredential(db.optionsFile, "options file", name), owner);
  }
  const common: string[] = [];
  // --defaults-extra-file must be the first option or the tools ignore it.
  if (optionsFile) common.push(`--defaults-extra-file=${optionsFile}`);
  if (db.host) common.push(`--host=${db.host}`);
  if (db.port) common.push(`--port=${db.port}`);
  if (db.socket) common.push(`--socket=${db.socket}`);
  if (db.user) common.push(`--user=${db.user}`);
  const env = await toolEnv(dir, owner);
  return (tool, args, database) => ({ tool, args: [...common, ...args, ...(database ? [database] : [])], env });
}

async function openPostgres(name: string, db: DatabaseConfig, dir: PrivateDir, owner: ToolIdentity | undefined): Promise<CommandMaker> {
  const env = await toolEnv(dir, owner);
  // Connection parameters through the environment too: one place, and no PG* of the agent leaks in.
  if (db.host) env.PGHOST = db.host;
  if (db.port) env.PGPORT = String(db.port);
  if (db.user) env.PGUSER = db.user;
  if (db.passFile) env.PGPASSFILE = owner ? await writeCredential(await dir.path(), "pgpass", await readCredential(db.passFile, "pass file", name), owner) : db.passFile;
  if (db.passwordFile) env.PGPASSWORD = await readPassword(db.passwordFile, name);
  env.PGCONNECT_TIMEOUT = "15";
  env.PGAPPNAME = "pullback-agent";
  env.PGDATABASE = db.maintenanceDatabase;
  // The database goes into PGDATABASE, which libpq takes literally: as an argument, a name holding
  // "=" would be parsed as a connection string.
  return (tool, args, database) => ({ tool, args: [...args], env: { ...env, ...(database ? { PGDATABASE: database } : {}) } });
}
