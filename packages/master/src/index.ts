export { backupDirectory, type LocalBackupOptions } from "./backup/local-backup.js";
export { planBackup, type BackupPlan } from "./backup/plan-backup.js";
export { SnapshotWriter, BackupRejectedError } from "./backup/snapshot-writer.js";
export { restoreSnapshot, type RestoreOptions, type RestoreResult } from "./restore/local-restore.js";
export { Store } from "./store/store.js";
export { ChunkStore, CorruptChunkError, MissingChunkError, StoreFullError } from "./store/chunk-store.js";
export { readManifest } from "./store/manifest-io.js";
