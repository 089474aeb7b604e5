/**
 * In-process backup of a directory on the master's own machine: the agent's file source feeds the
 * snapshot writer directly, with no network in between. Used by the quick start, tests and benches;
 * remote nodes go through the same SnapshotWriter via gRPC.
 */
import { backupFsSource } from "@pullback/agent";
import { initCodecs, type BackupLevel, type BackupProgress, type CodecSpec, type SnapshotRecord } from "@pullback/common";
import type { Store } from "../store/store.js";
import { planBackup } from "./plan-backup.js";
import { SnapshotWriter } from "./snapshot-writer.js";

export interface LocalBackupOptions {
  store: Store;
  dir: string;
  node: string;
  source: string;
  level?: BackupLevel;
  codec?: CodecSpec;
  excludes?: string[];
  onProgress?(p: BackupProgress): void;
  onNote?(message: string): void;
}

export async function backupDirectory(o: LocalBackupOptions): Promise<SnapshotRecord> {
  await initCodecs();
  const codec = o.codec ?? { name: "lz4" };
  const plan = await planBackup(o.store, o.node, o.source, o.level ?? "incremental");
  if (plan.note) o.onNote?.(plan.note);
  const writer = new SnapshotWriter(o.store, {
    node: o.node,
    source: o.source,
    sourceType: "fs",
    level: plan.level,
    requestedLevel: plan.requestedLevel,
    base: plan.base,
    codec,
    trusted: plan.trusted,
  });
  let bytesRead = 0;
  const events = backupFsSource(
    { root: o.dir, excludes: o.excludes ?? [], codec },
    {
      isKnown: (id) => plan.knownChunks.has(id),
      prior: plan.level === "full" ? null : plan.prior,
      onProgress: (p) => {
        bytesRead = p.bytesRead;
        o.onProgress?.(p);
      },
    },
  );
  for await (const ev of events) await writer.handle(ev);
  writer.setBytesRead(bytesRead);
  return writer.seal();
}
