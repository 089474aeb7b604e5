/**
 * `pullback`: the master's command line. One module per command under commands/; this file only
 * dispatches, prints help and maps errors to exit codes.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "@pullback/common";
import { PkiError } from "@pullback/common/pki/index";
import { EmbeddedPostgresError, MigrationError, RestoreRequestError, UsageError } from "../errors.js";
import { defaultHomeDir } from "../home/master-home.js";
import type { Command, OptionSpec } from "./command.js";
import { backupCommand } from "./commands/backup.js";
import { caCrlCommand, caInitCommand, caRevokeCommand, caSignCommand } from "./commands/ca.js";
import { catalogRebuildCommand } from "./commands/catalog.js";
import { enrollCommand, revocationsExportCommand, revocationsImportCommand, revokeCommand } from "./commands/enroll.js";
import { gcCommand } from "./commands/gc.js";
import { initCommand } from "./commands/init.js";
import { jobsCommand } from "./commands/jobs.js";
import { nodeAddCommand, nodeInfoCommand, nodeListCommand, nodeSetCommand } from "./commands/nodes.js";
import { policyAddCommand, policyApplyCommand, policyListCommand, policySetCommand, policyShowCommand } from "./commands/policies.js";
import { pruneCommand } from "./commands/prune.js";
import { restoreCommand } from "./commands/restore.js";
import { serveCommand } from "./commands/serve.js";
import { forgetCommand, lsCommand, protectCommand, snapshotsCommand, versionsCommand } from "./commands/snapshots.js";
import { sourceAddCommand, sourceListCommand, sourceSetCommand } from "./commands/sources.js";
import { verifyCommand } from "./commands/verify.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { Output } from "./output.js";

/** In `--help` order; each group's commands live in the file named after it (commands/<group>.ts). */
export const COMMANDS: Command[] = [
  // init.ts, enroll.ts, ca.ts: the master's home, nodes' certificates, the offline CA
  initCommand,
  enrollCommand,
  revokeCommand,
  revocationsExportCommand,
  revocationsImportCommand,
  caInitCommand,
  caSignCommand,
  caRevokeCommand,
  caCrlCommand,
  // nodes.ts, sources.ts, policies.ts: what to back up, where, and when
  nodeAddCommand,
  nodeInfoCommand,
  nodeListCommand,
  nodeSetCommand,
  sourceAddCommand,
  sourceSetCommand,
  sourceListCommand,
  policyAddCommand,
  policySetCommand,
  policyShowCommand,
  policyListCommand,
  policyApplyCommand,
  // serve.ts, jobs.ts, backup.ts: running backups, unattended or by hand
  serveCommand,
  jobsCommand,
  backupCommand,
  // snapshots.ts, restore.ts: what was backed up, and getting it back
  snapshotsCommand,
  lsCommand,
  versionsCommand,
  restoreCommand,
  // snapshots.ts, prune.ts, gc.ts: reclaiming space
  forgetCommand,
  pruneCommand,
  protectCommand,
  gcCommand,
  // verify.ts, catalog.ts: checking and repairing
  verifyCommand,
  catalogRebuildCommand,
];

const GLOBAL_HELP = `Global options:
  --home DIR   master home (default: $PULLBACK_HOME, /var/lib/pullback as root, else ~/.local/share/pullback)
  --json       machine-readable output on stdout
  -h, --help   help for a command

Exit codes: 0 ok, 1 failed, 2 usage error, 3 completed with warnings, 4 missing or invalid home/config/catalog.
Logs (JSON, pino) go to stderr; level via PULLBACK_LOG_LEVEL (default warn for commands).`;

function mainHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.join(" ").length));
  return [
    "pullback: the master of a pull-based backup system.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.join(" ").padEnd(w)}  ${c.summary}`),
    "",
    GLOBAL_HELP,
  ].join("\n");
}

function commandHelp(c: Command): string {
  const opts = Object.entries(c.options ?? {}).map(([k, o]) => `  --${k}${o.type === "string" ? " VALUE" : ""}${o.multiple ? " (repeatable)" : ""}`);
  return [`usage: ${c.usage}`, "", c.summary, ...(opts.length ? ["", "Options:", ...opts] : []), "", GLOBAL_HELP].join("\n");
}

export async function main(argv: string[]): Promise<ExitCode> {
  // Find the command words with every known option declared, so option values are not taken for words.
  const allOptions: OptionSpec = { home: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } };
  for (const c of COMMANDS) for (const [k, o] of Object.entries(c.options ?? {})) allOptions[k] = { type: o.type, multiple: o.type === "string" };
  const words = parseArgs({ args: argv, options: allOptions, allowPositionals: true, strict: false }).positionals;
  const command = COMMANDS.filter((c) => c.name.every((n, i) => words[i] === n)).sort((a, b) => b.name.length - a.name.length)[0];
  const wantsHelp = argv.includes("--help") || argv.includes("-h");
  if (!command) {
    if (wantsHelp || argv.length === 0) {
      process.stdout.write(mainHelp() + "\n");
      return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
    }
    process.stderr.write(`pullback: unknown command "${words.join(" ")}"; see \`pullback --help\`\n`);
    return EXIT.USAGE;
  }
  if (wantsHelp) {
    process.stdout.write(commandHelp(command) + "\n");
    return EXIT.OK;
  }
  const json = argv.includes("--json");
  const out = new Output(json);
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...command.options, home: { type: "string" }, json: { type: "boolean" } },
    });
    const positionals = parsed.positionals.slice(command.name.length);
    const [min, max] = command.args;
    if (positionals.length < min || positionals.length > max) throw new UsageError(`usage: ${command.usage}`);
    const homeDir = typeof parsed.values.home === "string" ? parsed.values.home : defaultHomeDir();
    return await command.run({ positionals, values: parsed.values, homeDir, out });
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const usage = err instanceof UsageError || err instanceof RestoreRequestError || (typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS"));
    const config = err instanceof ConfigError || err instanceof EmbeddedPostgresError || err instanceof MigrationError || err instanceof PkiError;
    const code = usage ? EXIT.USAGE : config ? EXIT.CONFIG : EXIT.FAILED;
    if (json) process.stdout.write(JSON.stringify({ error: e.message, exitCode: code }) + "\n");
    out.error(e.message);
    return code;
  }
}
