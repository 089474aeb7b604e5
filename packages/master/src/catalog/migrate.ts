/**
 * Applies the hand-written SQL migrations in prisma/migrations/NNNN_name/migration.sql.
 *
 * Why not `prisma migrate deploy`: it needs Prisma's native schema engine, which the CLI downloads on
 * first use, and the master installs on networks that reach only a package mirror. The runner is
 * small on purpose: ordered files, one advisory lock so two masters starting at once do not race,
 * one transaction per migration, and a checksum per applied file so an edited migration is refused
 * instead of silently leaving databases that differ.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { MigrationError } from "../errors.js";
import { withTransaction } from "./sql.js";
import type { CatalogLogger } from "./types.js";

export interface Migration {
  /** Directory name, e.g. "0001_init"; sorts in application order. */
  name: string;
  sql: string;
  /** Hex SHA-256 of the file with line endings normalised, so a checkout with CRLF is not "changed". */
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

/** Any number; only has to be the same in every master that shares a database. "PBCATMIG" in ASCII. */
const LOCK_KEY = 0x5042_4341_544d_4947n;
const MIGRATION_DIR_RE = /^\d{4}_[a-z0-9_]+$/;

/**
 * Finds prisma/migrations by walking up from this module, so it works from src/ (tests, ts tools) and
 * from dist/src/ alike. PULLBACK_MIGRATIONS_DIR overrides it for installs that move the files.
 */
export function defaultMigrationsDir(): string {
  const fromEnv = process.env.PULLBACK_MIGRATIONS_DIR;
  if (fromEnv) return fromEnv;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "prisma", "migrations");
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new MigrationError(
        "cannot find prisma/migrations above the master's code; set PULLBACK_MIGRATIONS_DIR to the directory that holds the catalog's migration folders",
      );
    }
    dir = parent;
  }
}

export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
}

export function loadMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    if (!MIGRATION_DIR_RE.test(name)) {
      throw new MigrationError(`migration folder "${name}" in ${dir} is not named NNNN_snake_case; rename it`);
    }
    const sql = readFileSync(join(dir, name, "migration.sql"), "utf8");
    migrations.push({ name, sql, checksum: checksumOf(sql) });
  }
  if (migrations.length === 0) throw new MigrationError(`no migrations found in ${dir}`);
  return migrations;
}

/**
 * Brings the database up to date. Safe to call from several processes at once: the advisory lock
 * makes the second wait, and it then finds everything applied.
 */
export async function migrate(
  client: pg.ClientBase,
  options: { dir?: string; migrations?: Migration[]; logger?: CatalogLogger } = {},
): Promise<MigrateResult> {
  const migrations = options.migrations ?? loadMigrations(options.dir);
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  // Session-level lock, not transaction-level: each migration runs in its own transaction below.
  await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY.toString()]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS catalog_migrations (
      name       TEXT PRIMARY KEY,
      checksum   TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ name: string; checksum: string }>(
      "SELECT name, checksum FROM catalog_migrations ORDER BY name",
    );
    const applied = new Map(rows.map((r) => [r.name, r.checksum]));
    const known = new Set(migrations.map((m) => m.name));
    const unknown = rows.filter((r) => !known.has(r.name)).map((r) => r.name);
    if (unknown.length > 0) {
      throw new MigrationError(
        `the catalog database has migrations this master does not know (${unknown.join(", ")}): it was upgraded by a newer Pullback; run that version or restore the catalog (catalog rebuild) from the store`,
      );
    }
    for (const m of migrations) {
      const sum = applied.get(m.name);
      if (sum !== undefined) {
        if (sum !== m.checksum) {
          throw new MigrationError(
            `migration ${m.name} was applied with checksum ${sum.slice(0, 12)}… but the file now has ${m.checksum.slice(0, 12)}…: applied migrations must never be edited; restore the original file and put the change in a new migration`,
          );
        }
        result.alreadyApplied.push(m.name);
        continue;
      }
      try {
        await withTransaction(client, async (tx) => {
          await tx.query(m.sql);
          await tx.query("INSERT INTO catalog_migrations (name, checksum) VALUES ($1, $2)", [m.name, m.checksum]);
        });
      } catch (err) {
        throw new MigrationError(`catalog migration ${m.name} failed: ${(err as Error).message}`, undefined, { cause: err });
      }
      options.logger?.info(`catalog: applied migration ${m.name}`);
      result.applied.push(m.name);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY.toString()]).catch(() => undefined);
  }
  return result;
}

/** Convenience for callers that have only a URL: one short-lived connection. */
export async function migrateUrl(
  databaseUrl: string,
  options: { dir?: string; migrations?: Migration[]; logger?: CatalogLogger } = {},
): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await migrate(client, options);
  } finally {
    await client.end();
  }
}
