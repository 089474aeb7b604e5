import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { checksumOf, loadMigrations, migrate } from "../src/catalog/migrate.js";
import { MigrationError } from "../src/errors.js";
import { createTestDatabase, type TestDatabase } from "@pullback/testkit";

// At module level, not in before(): an unreachable server then fails this file outright instead of
// reporting its tests as merely cancelled.
const db: TestDatabase = await createTestDatabase();

describe("catalog migrations", () => {
  const clients: pg.Client[] = [];
  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    clients.push(c);
    return c;
  };

  after(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db.drop();
  });

  it("finds the checked-in migrations in order", () => {
    const ms = loadMigrations();
    assert.ok(ms.length >= 1);
    assert.equal(ms[0]?.name, "0001_init");
    assert.deepEqual(
      ms.map((m) => m.name),
      [...ms.map((m) => m.name)].sort(),
    );
    assert.match(ms[0]?.checksum ?? "", /^[0-9a-f]{64}$/);
  });

  it("applies all migrations once when two runners start together, then is a no-op", async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    const all = loadMigrations().map((m) => m.name);
    // Exactly one runner applied each migration; the other waited on the lock and found it done.
    assert.deepEqual([...ra.applied, ...rb.applied].sort(), all);
    assert.deepEqual([...ra.alreadyApplied, ...rb.alreadyApplied].sort(), all);
    const { rows } = await a.query<{ name: string; checksum: string }>("SELECT name, checksum FROM catalog_migrations ORDER BY name");
    assert.deepEqual(
      rows.map((r) => r.name),
      all,
    );
    assert.equal(rows[0]?.checksum, loadMigrations()[0]?.checksum);
    const tables = await a.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'file_versions'",
    );
    assert.equal(tables.rows[0]?.n, "1");

    const again = await migrate(a);
    assert.deepEqual(again.applied, []);
    assert.deepEqual(again.alreadyApplied, all);
  });

  it("refuses an applied migration whose file changed", async () => {
    const c = await connect();
    const edited = loadMigrations().map((m, i) =>
      i === 0 ? { ...m, sql: m.sql + "\n-- edited\n", checksum: checksumOf(m.sql + "\n-- edited\n") } : m,
    );
    await assert.rejects(migrate(c, { migrations: edited }), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.match(err.message, /0001_init was applied with checksum .* must never be edited/);
      return true;
    });
    // The lock was released despite the error: a correct runner still gets through.
    const ok = await migrate(c);
    assert.deepEqual(ok.applied, []);
  });

  it("treats CRLF line endings as the same file", () => {
    assert.equal(checksumOf("a\r\nb\r\n"), checksumOf("a\nb\n"));
  });

  it("refuses a database migrated by a newer version", async () => {
    const c = await connect();
    await c.query("INSERT INTO catalog_migrations (name, checksum) VALUES ('9999_future', 'x')");
    try {
      await assert.rejects(migrate(c), /migrations this master does not know \(9999_future\)/);
    } finally {
      await c.query("DELETE FROM catalog_migrations WHERE name = '9999_future'");
    }
  });

  it("rolls back a failing migration and records nothing", async () => {
    const c = await connect();
    const ms = [
      ...loadMigrations(),
      { name: "9998_broken", sql: "CREATE TABLE half_done (x int); SELECT no_such_function();", checksum: checksumOf("broken") },
    ];
    await assert.rejects(migrate(c, { migrations: ms }), /catalog migration 9998_broken failed/);
    const t = await c.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
    assert.equal(t.rowCount, 0);
    const m = await c.query("SELECT 1 FROM catalog_migrations WHERE name = '9998_broken'");
    assert.equal(m.rowCount, 0);
  });
});
