/**
 * What the catalog stores as a source's config, validated before it is sent to an agent. File
 * sources name a path (checked against the agent's allowlist); database sources name a connection
 * from the agent's own config, never credentials.
 */
import { z } from "zod";
import type { JsonObject, SourceType } from "../catalog/index.js";
import { NodeSetupError } from "../errors.js";

const fsConfig = z.object({ path: z.string().startsWith("/", "must be an absolute path"), excludes: z.array(z.string()).default([]) });
export type FsSourceConfig = z.infer<typeof fsConfig>;

const dbConfig = z
  .object({
    connection: z.string().regex(/^[A-Za-z0-9_-]+$/, "a connection name from the agent's databases: config"),
    databases: z.array(z.string().regex(/^[^,\s-][^,\s]*$/, "a database name")).default([]),
    format: z.enum(["plain", "custom"]).optional(),
    globals: z.boolean().optional(),
  })
  .strict();
export type DbSourceConfig = z.infer<typeof dbConfig>;

function parse<T>(schema: z.ZodType<T>, cfg: JsonObject, what: string): T {
  const r = schema.safeParse(cfg);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new NodeSetupError(`${what} source config is invalid: ${problems}`, "correct it and add the source again with `pullback source add`");
}

export function fsSourceConfig(cfg: JsonObject): FsSourceConfig {
  return parse(fsConfig, cfg, "fs");
}

export function dbSourceConfig(cfg: JsonObject): DbSourceConfig {
  return parse(dbConfig, cfg, "database");
}

/** The wire form of a source: path and excludes for files, named parameters for databases. */
export function sourceWireSpec(type: SourceType, cfg: JsonObject): { path: string; excludes: string[]; params: Record<string, string> } {
  if (type === "fs") {
    const c = fsSourceConfig(cfg);
    return { path: c.path, excludes: c.excludes, params: {} };
  }
  if (type === "mysql" || type === "postgres") {
    const c = dbSourceConfig(cfg);
    const params: Record<string, string> = { connection: c.connection };
    if (c.databases.length) params.databases = c.databases.join(",");
    if (c.format) params.format = c.format;
    if (c.globals !== undefined) params.globals = String(c.globals);
    return { path: "", excludes: [], params };
  }
  throw new Error(`internal error: source type ${type} is not supported yet — please report`);
}
