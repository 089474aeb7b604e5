import { resolve } from "node:path";
import { restoreDump, restoreFiles, type Restored } from "../../restore/route-restore.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { list, str, type Command, type OptionValues } from "../command.js";
import { formatBytes, type Output } from "../output.js";
import { manualSessionTimeouts, SESSION_TIMEOUT_OPTIONS, SESSION_TIMEOUT_USAGE } from "../session-timeouts.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

export const restoreCommand: Command = {
  name: ["restore"],
  usage:
    `pullback restore SNAPSHOT --target DIR [--node NODE] [--path P]... [--overwrite] [--keep-special] ${SESSION_TIMEOUT_USAGE}\n` +
    `       pullback restore SNAPSHOT --node NODE --into-database [--connection NAME] [--overwrite] ${SESSION_TIMEOUT_USAGE}`,
  summary:
    "restore a snapshot (or parts of it) into a directory on a node, or on this machine without --node; a database dump into its server with --into-database (exit 3: some files could not be restored)",
  args: [1, 1],
  options: {
    target: { type: "string" },
    path: { type: "string", multiple: true },
    node: { type: "string" },
    overwrite: { type: "boolean" },
    // Onto another node than the snapshot's, setuid/setgid bits are stripped and devices skipped unless given.
    "keep-special": { type: "boolean" },
    "into-database": { type: "boolean" },
    connection: { type: "string" },
    ...SESSION_TIMEOUT_OPTIONS,
  },
  async run({ positionals, values, homeDir, out }) {
    if (values["into-database"]) return restoreIntoDatabase(positionals[0]!, values, homeDir, out);
    const target = str(values, "target");
    if (!target?.startsWith("/") && str(values, "node")) throw new UsageError("--target must be an absolute directory on the node");
    if (!target) throw new UsageError("--target DIR is required: where to write the restored files (or --into-database for a database dump)");
    const nodeName = str(values, "node");
    const started = Date.now();
    const { record, result } = await withContext(homeDir, (ctx) =>
      restoreFiles(ctx, {
        snapshot: positionals[0]!,
        node: nodeName ?? null,
        target,
        paths: list(values, "path"),
        overwrite: values.overwrite === true,
        keepSpecial: values["keep-special"] === true,
        ...(nodeName ? { timeouts: manualSessionTimeouts(ctx, values) } : {}),
        onProgress: (p) => out.progress(p.files, p.bytesWritten),
      }),
    );
    const secs = (Date.now() - started) / 1000;
    const where = nodeName ? `${nodeName}:${target}` : resolve(target);
    out.result({ snapshot: record.id, node: nodeName ?? null, target: where, seconds: secs, ...result }, () =>
      [
        `restored ${result.entries} entries (${formatBytes(result.bytesWritten)}) of snapshot ${record.id} to ${where} in ${secs.toFixed(1)} s (${formatBytes(result.bytesWritten / Math.max(secs, 0.001))}/s)`,
        ...errorLines(result),
        ...specialLines(result.special),
      ].join("\n"),
    );
    return result.errors.length ? EXIT.WARNINGS : EXIT.OK;
  },
};

function errorLines(result: Restored): string[] {
  return result.errors.length ? [`${result.errors.length} error(s):`, ...result.errors.slice(0, 50).map((e) => `  ${inlineText(e)}`)] : [];
}

function specialLines(special: string[]): string[] {
  if (!special.length) return [];
  return [
    `${special.length} setuid/setgid file(s) or device(s) not restored as in the snapshot (another node's; --keep-special restores them):`,
    ...special.slice(0, 50).map((s) => `  ${inlineText(s)}`),
  ];
}

/** A database snapshot replayed through the agent's client tool into the server. */
async function restoreIntoDatabase(id: string, values: OptionValues, homeDir: string, out: Output): Promise<ExitCode> {
  const nodeName = str(values, "node");
  if (!nodeName) throw new UsageError("--into-database needs --node NODE: the agent that replays the dump into its server");
  if (list(values, "path").length || str(values, "target")) throw new UsageError("--into-database restores the whole dump; --path and --target do not apply");
  const started = Date.now();
  const { record, result, connection } = await withContext(homeDir, (ctx) =>
    restoreDump(ctx, {
      snapshot: id,
      node: nodeName,
      connection: str(values, "connection") ?? null,
      overwrite: values.overwrite === true,
      timeouts: manualSessionTimeouts(ctx, values),
      onProgress: (p) => out.progress(p.files, p.bytesWritten),
    }),
  );
  const secs = (Date.now() - started) / 1000;
  out.result({ snapshot: record.id, node: nodeName, connection, seconds: secs, ...result }, () =>
    [`replayed ${record.sourceType} dump ${record.id} (${formatBytes(result.bytesWritten)}) into ${nodeName}:${connection} in ${secs.toFixed(1)} s`, ...errorLines(result)].join("\n"),
  );
  return result.errors.length ? EXIT.WARNINGS : EXIT.OK;
}
