/**
 * How a database snapshot is laid out as entries, shared by the source and the restore sink:
 *
 *   <kind>/                      directory
 *   <kind>/databases.json        what the dump holds (written first, so a restore can check the
 *                                target server before a byte of SQL runs)
 *   <kind>/<file>                one entry per dump, in the order they must be replayed
 *
 * Being plain files, a database snapshot also restores as files (`--target DIR`) with no special case.
 */
import { DamagedDataError } from "@pullback/common";
import type { DbKind } from "./db-connection.js";

export const LAYOUT_FORMAT = "pullback-db-dump/1";

/** sql: replayed with mysql/psql; pg-custom: pg_dump -Fc output, replayed with pg_restore --create. */
export type DumpFormat = "sql" | "pg-custom";

export interface DumpFileInfo {
  /** Entry path, "<kind>/…". */
  path: string;
  format: DumpFormat;
  /** The one database this file creates, when it holds one database only. */
  database?: string;
}

export interface DumpLayout {
  format: typeof LAYOUT_FORMAT;
  kind: DbKind;
  /** Databases the dump creates: a restore refuses to replace any that exist unless told to overwrite. */
  databases: string[];
  files: DumpFileInfo[];
  /** First line of the dump tool's --version: a restore into an older server can say why it failed. */
  tool: string;
}

export function layoutPath(kind: DbKind): string {
  return `${kind}/databases.json`;
}

/** Database names may hold any character; entry paths must stay one plain component. */
export function databaseFileName(database: string, ext: string): string {
  return `db-${encodeURIComponent(database).replace(/\./g, "%2E")}.${ext}`;
}

export function encodeLayout(l: DumpLayout): Buffer {
  return Buffer.from(`${JSON.stringify(l, null, 2)}\n`, "utf8");
}

const LAYOUT_HINT = "the snapshot is damaged (run `pullback verify`) or was made by a newer Pullback";

export function decodeLayout(bytes: Buffer, kind: DbKind): DumpLayout {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new DamagedDataError(`${layoutPath(kind)} in the snapshot is not valid JSON: ${(err as Error).message}`, LAYOUT_HINT);
  }
  const l = v as Partial<DumpLayout>;
  const okFile = (f: Partial<DumpFileInfo>) =>
    typeof f.path === "string" && (f.format === "sql" || f.format === "pg-custom") && (f.database === undefined || typeof f.database === "string");
  if (
    l.format !== LAYOUT_FORMAT ||
    l.kind !== kind ||
    !Array.isArray(l.databases) ||
    !l.databases.every((d) => typeof d === "string") ||
    !Array.isArray(l.files) ||
    !l.files.every(okFile)
  ) {
    throw new DamagedDataError(`${layoutPath(kind)} in the snapshot is not a ${kind} dump layout of format ${LAYOUT_FORMAT}`, LAYOUT_HINT);
  }
  return { format: LAYOUT_FORMAT, kind, databases: l.databases, files: l.files, tool: typeof l.tool === "string" ? l.tool : "" };
}
