/**
 * Start-up: connects to the catalog database (or starts the embedded PostgreSQL under the master's
 * home when no URL is given), brings its schema up to date, and hands out the Catalog on one pool.
 */
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.js";
import { Catalog } from "./catalog.js";
import { startEmbeddedPostgres, type EmbeddedCatalogDb } from "./embedded.js";
import { CatalogError } from "../errors.js";
import { migrate } from "./migrate.js";
import type { CatalogLogger } from "./types.js";

export interface OpenCatalogOptions {
  /** External PostgreSQL; when absent the master runs its own under <home>/catalog/pgdata. */
  databaseUrl?: string;
  home: string;
  logger?: CatalogLogger;
  /** Overrides where the SQL migrations are read from (default: prisma/migrations of this checkout). */
  migrationsDir?: string;
  /** Connections in the pool shared by Prisma and the bulk queries. */
  poolSize?: number;
}

export interface OpenedCatalog {
  catalog: Catalog;
  /** The URL in use, password removed: for logs and status pages. */
  databaseUrl: string;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openCatalog(options: OpenCatalogOptions): Promise<OpenedCatalog> {
  let embedded: EmbeddedCatalogDb | undefined;
  let url = options.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ home: options.home, ...(options.logger ? { logger: options.logger } : {}) });
    url = embedded.url;
  }
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 8 });
  // An idle client losing its server must not crash the master; the next query reports the error.
  pool.on("error", (err) => options.logger?.warn(`catalog: idle database connection failed: ${err.message}`));
  let prisma: PrismaClient;
  try {
    await migratePool(pool, url, embedded !== undefined, options);
    prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
  let closed = false;
  return {
    catalog: new Catalog(prisma, pool),
    databaseUrl: redact(url),
    embedded: embedded !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await pool.end();
      await embedded?.stop();
    },
  };
}

/** Migrates on one connection of the pool; a refused connection says which database and what to check. */
async function migratePool(pool: pg.Pool, url: string, embedded: boolean, options: OpenCatalogOptions): Promise<void> {
  const client = await pool.connect().catch((err: Error) => {
    throw new CatalogError(
      `cannot connect to the catalog database at ${redact(url)}: ${err.message}. ` +
        (embedded ? "The embedded server started but refuses connections." : "Check DATABASE_URL, or unset it to use the embedded catalog."),
      undefined,
      { cause: err },
    );
  });
  try {
    await migrate(client, {
      ...(options.migrationsDir ? { dir: options.migrationsDir } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } finally {
    client.release();
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database URL)";
  }
}
