/**
 * Checks a master's request for a database backup before the call is accepted (a bad connection
 * name is refused at once, not after the index exchange), and presents the source's failures as
 * gRPC errors the master can put in the job record verbatim.
 */
import * as grpc from "@grpc/grpc-js";
import type { CodecSpec, SourceEvent } from "@pullback/common";
import { RpcError } from "@pullback/common/rpc/index";
import type { AgentConfig } from "../config/agent-config.js";
import { DbConfigError, DbToolError } from "../errors.js";
import { findConnection, type DbKind } from "./db-connection.js";
import { backupDbSource, parseDbParams, type DbBackupContext } from "./db-source.js";

export function isDbKind(type: string): type is DbKind {
  return type === "mysql" || type === "postgres";
}

function asRpcError(err: unknown): unknown {
  if (err instanceof DbConfigError) return new RpcError(grpc.status.FAILED_PRECONDITION, err.message);
  if (err instanceof DbToolError) return new RpcError(grpc.status.ABORTED, err.message);
  return err;
}

/** Validates the request now; returns the event stream to run once the index has arrived. */
export function prepareDbBackup(
  kind: DbKind,
  params: Readonly<Record<string, string>>,
  codec: CodecSpec,
  cfg: AgentConfig,
): { connection: string; events(ctx: DbBackupContext): AsyncGenerator<SourceEvent> } {
  let connection;
  try {
    parseDbParams(kind, params);
    connection = findConnection(cfg, kind, params.connection);
  } catch (err) {
    throw asRpcError(err);
  }
  const spec = { kind, connection, params, codec };
  return {
    connection: connection.name,
    events: async function* (ctx) {
      try {
        yield* backupDbSource(spec, ctx);
      } catch (err) {
        throw asRpcError(err);
      }
    },
  };
}
