/**
 * @pullback/master: the `pullback` program (see cli.ts) and, through this file, the parts of it that
 * other code may drive in-process: back up a local directory and restore a snapshot, the writer that
 * turns source events into a sealed snapshot, and the store (chunks, snapshot records, manifests)
 * with the errors it throws. The benchmarks and the integration tests use exactly these; everything
 * else in src/ is internal and may change.
 */
export { backupDirectory, type LocalBackupOptions } from "./backup/local-backup.js";
export { planBackup, type BackupPlan } from "./backup/plan-backup.js";
export { SnapshotWriter } from "./backup/snapshot-writer.js";
export { restoreSnapshot, type RestoreOptions, type RestoreResult } from "./restore/local-restore.js";
export { Store } from "./store/store.js";
export { ChunkStore } from "./store/chunk-store.js";
export { readManifest } from "./store/manifest-io.js";
export { BackupRejectedError, CorruptChunkError, MissingChunkError, StoreFullError } from "./errors.js";
