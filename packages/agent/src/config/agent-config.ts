/**
 * The agent's own config: the node decides what a master may read, where a restore may write and
 * which hooks exist. The master can only name things this file allows; it never sends a path outside
 * the allowlists or a command line.
 */
import { isAbsolute, join, dirname } from "node:path";
import { z } from "zod";
import { loadConfigFile } from "@pullback/common";

const absPath = z.string().refine((p) => isAbsolute(p), "must be an absolute path");

const hookSchema = z
  .object({
    /** argv arrays, run without a shell. */
    pre: z.array(z.string().min(1)).min(1),
    post: z.array(z.string().min(1)).min(1).optional(),
    timeoutSeconds: z.number().int().positive().max(3600).default(120),
  })
  .strict();

/**
 * A database connection the master may name (never define): credentials stay in files on this node
 * and reach the dump tools through an option file or the environment, never through argv.
 */
const databaseSchema = z
  .object({
    type: z.enum(["mysql", "postgres"]),
    /** Host name or IP; postgres also accepts a socket directory. Omitted: the tool's default (local socket). */
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    /** mysql only: Unix socket path. */
    socket: absPath.optional(),
    user: z.string().min(1).optional(),
    /** mysql only: an option file ([client] user=…, password=…) passed as --defaults-extra-file. */
    optionsFile: absPath.optional(),
    /** postgres only: a pgpass-format file, given to the tools as PGPASSFILE. */
    passFile: absPath.optional(),
    /** Either type: a file whose first line is the password. */
    passwordFile: absPath.optional(),
    /** postgres only: database the agent connects to for listing, checking and dropping databases. */
    maintenanceDatabase: z.string().min(1).default("postgres"),
    /** A restore can replace whole databases: the node must opt in per connection. */
    allowRestore: z.boolean().default(false),
    /**
     * Run this connection's client tools (dump, restore, listing) as this system user instead of the
     * agent's: a hostile dump then meets a client that owns nothing on the node. The credential
     * files above may stay readable by root only; the tools get private copies.
     */
    runAs: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}$/, "a system user name").optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const bad = (field: string, why: string) => ctx.addIssue({ code: "custom", path: [field], message: why });
    if (d.type === "mysql" && d.passFile) bad("passFile", "is for postgres connections; mysql uses optionsFile or passwordFile");
    if (d.type === "postgres" && d.optionsFile) bad("optionsFile", "is for mysql connections; postgres uses passFile or passwordFile");
    if (d.type === "postgres" && d.socket) bad("socket", "is for mysql connections; for postgres put the socket directory in host");
    if (d.optionsFile && d.passwordFile) bad("passwordFile", "give either optionsFile or passwordFile, not both");
    if (d.passFile && d.passwordFile) bad("passwordFile", "give either passFile or passwordFile, not both");
  });

export const agentConfigSchema = z
  .object({
    /** host:port to listen on (the master dials it). */
    listen: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be HOST:PORT"),
    /** This node's name; must equal the name in the agent certificate. */
    node: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "letters, digits, '.', '_' and '-'"),
    /** Directory with ca.crt, agent.crt, agent.key (relative: to this file). */
    pki: z.string().min(1).default("pki"),
    backup: z.object({ allow: z.array(absPath).min(1, "list at least one directory a master may back up") }).strict(),
    restore: z.object({ allow: z.array(absPath).default([]) }).strict().default({ allow: [] }),
    hooks: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, "hook names: letters, digits, '_' and '-'"), hookSchema).default({}),
    /** Named database connections for mysql/postgres sources and restores. */
    databases: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, "connection names: letters, digits, '_' and '-'"), databaseSchema).default({}),
    /**
     * Seconds between progress messages while a call is quiet, so the master's idle timeout
     * (default 600 s) tells a stalled agent from a long quiet phase. Keep it well below that timeout.
     */
    heartbeatSeconds: z.number().positive().max(300).default(30),
    log: z.object({ level: z.enum(["trace", "debug", "info", "warn", "error"]).default("info") }).strict().default({ level: "info" }),
  })
  .strict();

export type AgentConfig = z.infer<typeof agentConfigSchema> & { configDir: string; pkiDir: string };
export type HookConfig = z.infer<typeof hookSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;

export function loadAgentConfig(file: string): AgentConfig {
  const cfg = loadConfigFile(file, agentConfigSchema);
  const configDir = dirname(file);
  return { ...cfg, configDir, pkiDir: isAbsolute(cfg.pki) ? cfg.pki : join(configDir, cfg.pki) };
}
