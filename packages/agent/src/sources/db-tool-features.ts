/**
 * Which of the client tools' safety switches this node's tools have, asked of the tools themselves
 * (their --help) rather than guessed from version numbers, which distributions patch. Asked once per
 * agent process: the answer changes only when the package does, and then the agent restarts.
 */
import { baseToolEnv, runTool, type DbTool } from "./db-tools.js";

const answers = new Map<string, Promise<string>>();

function helpText(tool: DbTool, args: string[]): Promise<string> {
  const key = `${tool} ${args.join(" ")}`;
  let p = answers.get(key);
  if (!p) {
    p = runTool({ tool, args, env: baseToolEnv() }, `${tool} ${args.join(" ")}`);
    // A failed probe is asked again next time (the tool may have been installed meanwhile).
    p.catch(() => answers.delete(key));
    answers.set(key, p);
  }
  return p;
}

/**
 * psql's `\restrict KEY` (PostgreSQL 13.22, 14.19, 15.14, 16.10, 17.6 and later, the fix for
 * CVE-2025-8714) refuses every further meta-command until `\unrestrict KEY`.
 */
export async function psqlCanRestrict(): Promise<boolean> {
  return /\\restrict\b/.test(await helpText("psql", ["--help=commands"]));
}

/** The MariaDB client's --sandbox (10.5.25, 10.6.18, 10.11.8, 11.x and later); Oracle's mysql has none. */
export async function mysqlHasSandbox(): Promise<boolean> {
  return /--sandbox\b/.test(await helpText("mysql", ["--help"]));
}
