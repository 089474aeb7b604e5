/**
 * Where a restore runs, decided once for the CLI and the coming API: onto this machine (no node, or a
 * local node) through local-restore.ts, or onto a remote node through its agent, with the manifest
 * streamed from the store; a database dump always through the agent that replays it. Also decides
 * who gets setuid/setgid bits and devices back (special-policy.ts).
 */
import { resolve } from "node:path";
import type { Entry, SnapshotRecord } from "@pullback/common";
import { RestoreRequestError } from "../errors.js";
import { dialNode, isLocal, type SessionTimeouts } from "../links/connect-node.js";
import type { MasterContext } from "../master-context.js";
import { readManifest } from "../store/manifest-io.js";
import { pathFilter, restoreSnapshot } from "./local-restore.js";
import { keepSpecialFor } from "./special-policy.js";

export interface Restored {
  entries: number;
  bytesWritten: number;
  errors: string[];
  special: string[];
}

type OnProgress = (p: { files: number; bytesWritten: number }) => void;

export interface FilesRestore {
  snapshot: string;
  /** The node to restore onto; null: this machine (the master's). */
  node: string | null;
  /** Absolute on a node; resolved against the working directory on this machine. */
  target: string;
  paths: string[];
  overwrite: boolean;
  /** The operator asked for setuid/setgid bits and devices even onto another node. */
  keepSpecial: boolean;
  /** Needed only when `node` is given (the agent's stream). */
  timeouts?: SessionTimeouts;
  onProgress: OnProgress;
}

/** Restores a snapshot's files (all, or those under `paths`) into a directory. */
export async function restoreFiles(ctx: MasterContext, r: FilesRestore): Promise<{ record: SnapshotRecord; result: Restored }> {
  const record = await ctx.store.snapshots.find(r.snapshot);
  const result = r.node
    ? await restoreThroughAgent(ctx, record, { ...r, node: r.node, intoDatabase: null, timeouts: r.timeouts ?? {} })
    : await restoreSnapshot({
        store: ctx.store,
        snapshot: record,
        target: resolve(r.target),
        paths: r.paths,
        overwrite: r.overwrite,
        keepSpecial: keepSpecialFor({ asked: r.keepSpecial, snapshotNode: record.node, targetNode: await thisMachinesNode(ctx, record.node) }),
        onProgress: r.onProgress,
      });
  return { record, result };
}

export interface DumpRestore {
  snapshot: string;
  /** The agent that replays the dump into its server. */
  node: string;
  /** The agent-side connection; null: the one the dump's source names in the catalog. */
  connection: string | null;
  overwrite: boolean;
  timeouts: SessionTimeouts;
  onProgress: OnProgress;
}

/** Replays a mysql or postgres dump through the agent's client tool into the server. */
export async function restoreDump(ctx: MasterContext, r: DumpRestore): Promise<{ record: SnapshotRecord; result: Restored; connection: string }> {
  const record = await ctx.store.snapshots.find(r.snapshot);
  if (record.sourceType !== "mysql" && record.sourceType !== "postgres") {
    throw new RestoreRequestError(`snapshot ${record.id} is a ${record.sourceType} snapshot; --into-database is for mysql and postgres dumps`);
  }
  let connection = r.connection ?? undefined;
  if (!connection) {
    const src = (await (await ctx.catalog()).sources.list(record.node)).find((s) => s.name === record.source);
    connection = typeof src?.config.connection === "string" ? src.config.connection : undefined;
  }
  if (!connection) throw new RestoreRequestError("give --connection NAME: no source in the catalog names the connection this dump came from");
  const request = { node: r.node, target: "", paths: [], overwrite: r.overwrite, keepSpecial: false, intoDatabase: connection, timeouts: r.timeouts, onProgress: r.onProgress };
  const result = await restoreThroughAgent(ctx, record, request);
  return { record, result, connection };
}

interface AgentRestore {
  node: string;
  target: string;
  paths: string[];
  overwrite: boolean;
  keepSpecial: boolean;
  /** Replay a database dump into this agent-side connection instead of writing files. */
  intoDatabase: string | null;
  timeouts: SessionTimeouts;
  onProgress: OnProgress;
}

async function restoreThroughAgent(ctx: MasterContext, record: SnapshotRecord, o: AgentRestore): Promise<Restored> {
  const node = await (await ctx.catalog()).nodes.get(o.node);
  if (!node) throw new RestoreRequestError(`no node ${o.node}: add it with \`pullback node add ${o.node} --address HOST:PORT\``);
  const keepSpecial = keepSpecialFor({ asked: o.keepSpecial, snapshotNode: record.node, targetNode: o.node });
  if (isLocal(node)) {
    if (o.intoDatabase) throw new RestoreRequestError("--into-database needs an agent: local nodes have no database connections");
    return restoreSnapshot({ store: ctx.store, snapshot: record, target: o.target, paths: o.paths, overwrite: o.overwrite, keepSpecial, onProgress: o.onProgress });
  }
  const link = dialNode(ctx, node, o.timeouts);
  try {
    return await link.restore({
      snapshotId: record.id,
      sourceType: o.intoDatabase ? record.sourceType : "fs",
      ...(o.intoDatabase ? { params: { connection: o.intoDatabase } } : {}),
      target: o.target,
      overwrite: o.overwrite,
      keepSpecial,
      entries: filtered(ctx, record, o.paths),
      totalEntries: record.manifest.entries,
      totalBytes: record.stats.bytesTotal,
      store: ctx.store.chunks,
      onProgress: o.onProgress,
    });
  } finally {
    await link.close();
  }
}

async function* filtered(ctx: MasterContext, record: SnapshotRecord, paths: string[]): AsyncGenerator<Entry> {
  const wanted = pathFilter(paths);
  for await (const e of readManifest(ctx.store.chunks, record.manifest)) if (wanted(e.path)) yield e;
}

/** Without a node the restore lands on the master's machine: the snapshot's node if it is a local node. */
async function thisMachinesNode(ctx: MasterContext, snapshotNode: string): Promise<string | null> {
  const node = await (await ctx.catalog()).nodes.get(snapshotNode);
  return node && isLocal(node) ? node.name : null;
}
