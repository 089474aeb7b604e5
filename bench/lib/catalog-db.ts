/**
 * A throwaway catalog database for the Pullback master under benchmark, on the PostgreSQL server the
 * tests use (PULLBACK_BENCH_PG_URL, else PULLBACK_TEST_PG_URL, else the local default). Created
 * outside the timed steps and dropped at the end, so no run sees another's catalog.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

const ADMIN_URL = process.env.PULLBACK_BENCH_PG_URL ?? process.env.PULLBACK_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface CatalogDb {
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`pullback grpc needs a PostgreSQL server for its catalog (PULLBACK_BENCH_PG_URL): ${(err as Error).message}`, { cause: err });
  }
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createCatalogDb(): Promise<CatalogDb> {
  const name = `pullback_bench_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
