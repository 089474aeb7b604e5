/**
 * @pullback/agent: the program that runs on each node (`pullback-agent`, see cli.ts) and, through this
 * file, the parts of it other packages may use. Everything else in src/ is internal and may change.
 *
 * - backupFsSource: reads a directory tree into source events; the master runs it in-process for a
 *   source on its own machine (node "here").
 * - RestoreWriter, FileSink: writes restored files safely under a target; the master's local restore.
 * - backupDbSource, findConnection, openConnection, DbRestoreSink, restoreTarget: a database dump as
 *   source events and its replay, for whoever holds a connection (the integration tests drive them
 *   against the master's store without the gRPC server between).
 * - agentConfigSchema, AgentConfig: the agent.yaml schema, for tools that check a config.
 * - agentFacts: what the agent reports about itself (version, capabilities), for a stand-in agent.
 */
export { backupFsSource, type FsSourceSpec, type FsBackupContext } from "./sources/fs-source.js";
export * from "./errors.js";
export { RestoreWriter, type FileSink } from "./restore/restore-writer.js";
export { backupDbSource, type DbSourceSpec, type DbBackupContext } from "./sources/db-source.js";
export { findConnection, openConnection, type DbKind, type ConnectionSession } from "./sources/db-connection.js";
export { DbRestoreSink, type DbRestoreOptions } from "./restore/db-restore-sink.js";
export { restoreTarget, type RestoreTarget } from "./restore/db-restore-target.js";
export { agentConfigSchema, type AgentConfig, type DatabaseConfig } from "./config/agent-config.js";
export { agentFacts } from "./server/info-handler.js";
