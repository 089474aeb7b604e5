import { resolve } from "node:path";
import type { Entry, SnapshotRecord } from "@pullback/common";
import { dialNode, isLocal, type SessionTimeouts } from "../../links/connect-node.js";
import { pathFilter, restoreSnapshot } from "../../restore/local-restore.js";
import { keepSpecialFor } from "../../restore/special-policy.js";
import type { MasterContext } from "../../master-context.js";
import { readManifest } from "../../store/manifest-io.js";
import { EXIT, UsageError, type ExitCode } from "../exit-codes.js";
import { list, str, type Command, type OptionValues } from "../command.js";
import { formatBytes, type Output } from "../output.js";
import { manualSessionTimeouts, SESSION_TIMEOUT_OPTIONS, SESSION_TIMEOUT_USAGE } from "../session-timeouts.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

interface Restored {
  entries: number;
  bytesWritten: number;
  errors: string[];
  special: string[];
}

async function* filtered(ctx: MasterContext, record: SnapshotRecord, paths: string[]): AsyncGenerator<Entry> {
  const wanted = pathFilter(paths);
  for await (const e of readManifest(ctx.store.chunks, record.manifest)) if (wanted(e.path)) yield e;
}

interface AgentRestore {
  nodeName: string;
  target: string;
  paths: string[];
  overwrite: boolean;
  /** The operator gave --keep-special. */
  keepSpecial: boolean;
  /** Replay a database dump into this agent-side connection instead of writing files. */
  intoDatabase: string | null;
  timeouts: SessionTimeouts;
}

async function restoreThroughAgent(ctx: MasterContext, record: SnapshotRecord, o: AgentRestore, out: Output): Promise<Restored> {
  const { nodeName, target, paths, overwrite } = o;
  const node = await (await ctx.catalog()).nodes.get(nodeName);
  if (!node) throw new UsageError(`no node ${nodeName}: add it with \`pullback node add ${nodeName} --address HOST:PORT\``);
  const keepSpecial = keepSpecialFor({ asked: o.keepSpecial, snapshotNode: record.node, targetNode: nodeName });
  if (isLocal(node)) {
    if (o.intoDatabase) throw new UsageError("--into-database needs an agent: local nodes have no database connections");
    return restoreSnapshot({ store: ctx.store, snapshot: record, target, paths, overwrite, keepSpecial, onProgress: (p) => out.progress(p.files, p.bytesWritten) });
  }
  const link = dialNode(ctx, node, o.timeouts);
  try {
    return await link.restore({
      snapshotId: record.id,
      sourceType: o.intoDatabase ? record.sourceType : "fs",
      ...(o.intoDatabase ? { params: { connection: o.intoDatabase } } : {}),
      target,
      overwrite,
      keepSpecial,
      entries: filtered(ctx, record, paths),
      totalEntries: record.manifest.entries,
      totalBytes: record.stats.bytesTotal,
      store: ctx.store.chunks,
      onProgress: (p) => out.progress(p.files, p.bytesWritten),
    });
  } finally {
    await link.close();
  }
}

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
    const paths = list(values, "path");
    const overwrite = values.overwrite === true;
    const keepSpecial = values["keep-special"] === true;
    const nodeName = str(values, "node");
    const started = Date.now();
    const { record, result } = await withContext(homeDir, async (ctx) => {
      const record = await ctx.store.snapshots.find(positionals[0]!);
      const result: Restored = nodeName
        ? await restoreThroughAgent(ctx, record, { nodeName, target, paths, overwrite, keepSpecial, intoDatabase: null, timeouts: manualSessionTimeouts(ctx, values) }, out)
        : await restoreSnapshot({
            store: ctx.store,
            snapshot: record,
            target: resolve(target),
            paths,
            overwrite,
            keepSpecial: keepSpecialFor({ asked: keepSpecial, snapshotNode: record.node, targetNode: await thisMachinesNode(ctx, record.node) }),
            onProgress: (p) => out.progress(p.files, p.bytesWritten),
          });
      return { record, result };
    });
    const secs = (Date.now() - started) / 1000;
    const where = nodeName ? `${nodeName}:${target}` : resolve(target);
    out.result({ snapshot: record.id, node: nodeName ?? null, target: where, seconds: secs, ...result }, () =>
      [
        `restored ${result.entries} entries (${formatBytes(result.bytesWritten)}) of snapshot ${record.id} to ${where} in ${secs.toFixed(1)} s (${formatBytes(result.bytesWritten / Math.max(secs, 0.001))}/s)`,
        ...(result.errors.length ? [`${result.errors.length} error(s):`, ...result.errors.slice(0, 50).map((e) => `  ${inlineText(e)}`)] : []),
        ...specialLines(result.special),
      ].join("\n"),
    );
    return result.errors.length ? EXIT.WARNINGS : EXIT.OK;
  },
};

/** Without --node the restore lands on the master's machine: the snapshot's node if it is a local node. */
async function thisMachinesNode(ctx: MasterContext, snapshotNode: string): Promise<string | null> {
  const node = await (await ctx.catalog()).nodes.get(snapshotNode);
  return node && isLocal(node) ? node.name : null;
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
  const { record, result, connection } = await withContext(homeDir, async (ctx) => {
    const record = await ctx.store.snapshots.find(id);
    if (record.sourceType !== "mysql" && record.sourceType !== "postgres") {
      throw new UsageError(`snapshot ${record.id} is a ${record.sourceType} snapshot; --into-database is for mysql and postgres dumps`);
    }
    let connection = str(values, "connection");
    if (!connection) {
      const src = (await (await ctx.catalog()).sources.list(record.node)).find((s) => s.name === record.source);
      connection = typeof src?.config.connection === "string" ? src.config.connection : undefined;
    }
    if (!connection) throw new UsageError("give --connection NAME: no source in the catalog names the connection this dump came from");
    const result = await restoreThroughAgent(ctx, record, { nodeName, target: "", paths: [], overwrite: values.overwrite === true, keepSpecial: false, intoDatabase: connection, timeouts: manualSessionTimeouts(ctx, values) }, out);
    return { record, result, connection };
  });
  const secs = (Date.now() - started) / 1000;
  out.result({ snapshot: record.id, node: nodeName, connection, seconds: secs, ...result }, () =>
    [
      `replayed ${record.sourceType} dump ${record.id} (${formatBytes(result.bytesWritten)}) into ${nodeName}:${connection} in ${secs.toFixed(1)} s`,
      ...(result.errors.length ? [`${result.errors.length} error(s):`, ...result.errors.slice(0, 50).map((e) => `  ${inlineText(e)}`)] : []),
    ].join("\n"),
  );
  return result.errors.length ? EXIT.WARNINGS : EXIT.OK;
}
