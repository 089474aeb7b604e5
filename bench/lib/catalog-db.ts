/**
 * A throwaway catalog database for the Pullback master under benchmark, on the PostgreSQL server the
 * tests use unless PULLBACK_BENCH_PG_URL names another. Created outside the timed steps and dropped
 * at the end, so no run sees another's catalog.
 */
import { createTestDatabase, type TestDatabase } from "@pullback/testkit";

export function createCatalogDb(): Promise<TestDatabase> {
  const adminUrl = process.env.PULLBACK_BENCH_PG_URL;
  return createTestDatabase({ prefix: "pullback_bench", ...(adminUrl ? { adminUrl, adminUrlVariable: "PULLBACK_BENCH_PG_URL" } : {}) });
}
