/**
 * A throwaway database on the test PostgreSQL server, for any test or benchmark that needs a catalog.
 * Each call creates <prefix>_<random> and drop() removes it, so runs never see each other's data.
 * The server is PULLBACK_TEST_PG_URL, default 127.0.0.1:5432 as user postgres with trust auth.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

const TEST_PG_ADMIN_URL = process.env.PULLBACK_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** A role that may create databases, on the server to use (default TEST_PG_ADMIN_URL). */
  adminUrl?: string;
  /** The environment variable the caller read adminUrl from, named in the error when it is unreachable. */
  adminUrlVariable?: string;
  /** The new database's name before its random suffix (default pullback_test). */
  prefix?: string;
}

export async function createTestDatabase(o: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = o.adminUrl ?? TEST_PG_ADMIN_URL;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `the catalog tests need a PostgreSQL server at ${adminUrl} (user postgres, trust auth on 127.0.0.1) and cannot reach it: ${(err as Error).message}. ` +
        "Install and start one (Debian: apt-get install postgresql, then pg_ctlcluster <version> main start, with 'host all all 127.0.0.1/32 trust' in pg_hba.conf), " +
        `or point ${o.adminUrlVariable ?? "PULLBACK_TEST_PG_URL"} at a server where this user may create databases.`,
      { cause: err },
    );
  }
  const name = `${o.prefix ?? "pullback_test"}_${randomBytes(6).toString("hex")}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        // WITH (FORCE) ends connections a failed run left open (PostgreSQL 13+).
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
