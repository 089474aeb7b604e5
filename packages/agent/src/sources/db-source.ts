/**
 * Database source (mysql, postgres): runs the server's own dump tools and emits their output as
 * ordinary file entries (see db-layout.ts), so the master stores, deduplicates and indexes a dump
 * exactly like a file. A dump is always complete: backup levels change only the record.
 */
import { chunkBuffer, chunkId, compress, type BackupProgress, type ChunkerParams, type CodecSpec, type SourceEvent } from "@pullback/common";
import type { DatabaseConfig } from "../config/agent-config.js";
import { DbConfigError } from "../errors.js";
import { openConnection, type DbKind } from "./db-connection.js";
import { dumpEntry, streamDump, type DumpStreamContext } from "./db-dump-stream.js";
import { looksLikeOption, skippedDatabaseMessage } from "./db-names.js";
import { encodeLayout, layoutPath, LAYOUT_FORMAT, type DumpLayout } from "./db-layout.js";
import { planMysqlDump } from "./db-mysql.js";
import type { DumpPlan } from "./db-plan.js";
import { planPgDump, type PgDumpFormat } from "./db-postgres.js";
import { baseToolEnv, runTool } from "./db-tools.js";

/**
 * Much smaller chunks than for files (1 MiB): a day's changes to a table are often single rows
 * scattered through the dump, and each one dirties the whole chunk around it. Measured in
 * docs/decisions.md, "Database sources".
 */
export const DB_CHUNKING: ChunkerParams = { minSize: 4 * 1024, avgSize: 16 * 1024, maxSize: 64 * 1024 };

export interface DbSourceSpec {
  kind: DbKind;
  connection: { name: string; db: DatabaseConfig };
  params: Readonly<Record<string, string>>;
  codec: CodecSpec;
  chunking?: ChunkerParams;
}

export interface DbBackupContext {
  isKnown(id: string): boolean;
  onProgress?(p: BackupProgress): void;
  onToolStart?(tool: string, pid: number): void;
}

const KNOWN_PARAMS: Record<DbKind, ReadonlySet<string>> = {
  mysql: new Set(["connection", "databases"]),
  postgres: new Set(["connection", "databases", "format", "globals"]),
};

interface DbParams {
  databases: string[] | null;
  format: PgDumpFormat;
  globals: boolean;
}

/** Validates the master's params: it names things, and a typo must fail loudly, not dump the wrong set. */
export function parseDbParams(kind: DbKind, params: Readonly<Record<string, string>>): DbParams {
  const unknown = Object.keys(params).filter((k) => !KNOWN_PARAMS[kind].has(k));
  if (unknown.length) throw new DbConfigError(`unknown ${kind} source parameter(s) ${unknown.join(", ")}; known: ${[...KNOWN_PARAMS[kind]].join(", ")}`);
  const list = (params.databases ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const d of list) if (looksLikeOption(d)) throw new DbConfigError(`${JSON.stringify(d)} is not a database name a dump tool can be given: it starts with "-"`);
  const format = params.format ?? "plain";
  if (format !== "plain" && format !== "custom") throw new DbConfigError(`format must be plain or custom, not ${JSON.stringify(format)}`);
  if (kind === "mysql" && format !== "plain") throw new DbConfigError("mysql sources have no format parameter");
  const globals = params.globals ?? "true";
  if (globals !== "true" && globals !== "false") throw new DbConfigError(`globals must be true or false, not ${JSON.stringify(globals)}`);
  return { databases: list.length ? [...new Set(list)] : null, format, globals: globals === "true" };
}

async function toolVersion(plan: DumpPlan): Promise<string> {
  const tool = plan.files[0]?.command.tool;
  if (!tool) return "";
  const out = await runTool({ tool, args: ["--version"], env: baseToolEnv() }, `${tool} --version`);
  return out.split("\n")[0]?.trim() ?? "";
}

export async function* backupDbSource(spec: DbSourceSpec, ctx: DbBackupContext): AsyncGenerator<SourceEvent> {
  const p = parseDbParams(spec.kind, spec.params);
  const conn = await openConnection(spec.connection.name, spec.connection.db);
  try {
    const plan =
      spec.kind === "mysql"
        ? await planMysqlDump(conn, spec.connection.name, p.databases)
        : await planPgDump(conn, spec.connection.name, p.databases, p.format, p.globals);
    const params = spec.chunking ?? DB_CHUNKING;
    const progress: BackupProgress = { files: 0, bytesRead: 0, currentPath: "" };
    const dctx: DumpStreamContext = {
      codec: spec.codec,
      params,
      buffer: chunkBuffer(params),
      isKnown: (id) => ctx.isKnown(id),
      sent: new Set(),
      progress,
    };
    if (ctx.onProgress) dctx.onProgress = ctx.onProgress;
    if (ctx.onToolStart) dctx.onToolStart = ctx.onToolStart;

    const { chunks: _none, ...dir } = dumpEntry(spec.kind, 0, []);
    yield { kind: "entry", entry: { ...dir, type: "dir", mode: 0o700 }, unchanged: false };
    for (const skipped of plan.skipped) yield { kind: "warning", path: spec.kind, message: skippedDatabaseMessage(skipped) };

    const layout: DumpLayout = {
      format: LAYOUT_FORMAT,
      kind: spec.kind,
      databases: plan.databases,
      files: plan.files.map(({ path, format, database }) => (database === undefined ? { path, format } : { path, format, database })),
      tool: await toolVersion(plan),
    };
    const bytes = encodeLayout(layout);
    const id = chunkId(bytes);
    if (!ctx.isKnown(id)) {
      const c = compress(bytes, spec.codec);
      yield { kind: "chunk", id, codec: c.codec, plainLen: bytes.length, data: Buffer.from(c.data) };
    }
    yield { kind: "entry", entry: dumpEntry(layoutPath(spec.kind), bytes.length, [{ id, off: 0, len: bytes.length }]), unchanged: false };

    for (const f of plan.files) {
      const entry = yield* streamDump(f.command, f.path, dctx);
      yield { kind: "entry", entry, unchanged: false };
    }
  } finally {
    await conn.dispose();
  }
}
