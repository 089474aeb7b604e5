export { backupFsSource, type FsSourceSpec, type FsBackupContext } from "./sources/fs-source.js";
export * from "./errors.js";
export { RestoreWriter, type FileSink } from "./restore/restore-writer.js";
