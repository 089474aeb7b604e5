/**
 * Database sources end to end: real MariaDB and PostgreSQL, a real agent with its own credentials,
 * the master pulling dumps over mTLS, and restores replayed through the agent.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SnapshotRecord } from "@pullback/common";
import { Testbed } from "./support/testbed.js";
import { requireTool } from "./support/tools.js";

const tag = randomBytes(4).toString("hex");
const MY = `pb_e2e_my_${tag}`;
const PG = `pb_e2e_pg_${tag}`;
const SCOPED_USER = `pb_e2e_u_${tag}`;
/** Where a database named `--result-file=…` would make mysqldump write (short: names have ≤ 64 characters). */
const trap = mkdtempSync(join(tmpdir(), "pbe-"));
const HOSTILE = `--result-file=${trap}/x.sql`;

function sh(cmd: string, args: string[], input: string): string {
  const r = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}
const my = (sql: string, db?: string) => sh("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "--batch", "--skip-column-names", "--default-character-set=utf8mb4", ...(db ? [db] : [])], sql);
const pg = (sql: string, db = "postgres") => sh("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db], sql);

/** Row counts, a checksum of every table, and the schema objects: what a restore must bring back. */
function myFingerprint(): string {
  const tables = my(`SELECT table_name FROM information_schema.tables WHERE table_schema='${MY}' AND table_type='BASE TABLE' ORDER BY 1`).split("\n");
  const sums = tables.map((t) => `${t}:${my(`SELECT COUNT(*) FROM \`${t}\``, MY)}:${my(`CHECKSUM TABLE \`${t}\``, MY).split("\t")[1]}`);
  const objects = my(
    `SELECT CONCAT('view:', table_name) FROM information_schema.views WHERE table_schema='${MY}'
     UNION ALL SELECT CONCAT('trigger:', trigger_name) FROM information_schema.triggers WHERE trigger_schema='${MY}'
     UNION ALL SELECT CONCAT(routine_type, ':', routine_name) FROM information_schema.routines WHERE routine_schema='${MY}' ORDER BY 1`,
  );
  return [...sums, objects].join("\n");
}
function pgFingerprint(): string {
  const tables = pg(`SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1`, PG).split("\n");
  const sums = tables.map((t) => `${t}:${pg(`SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM ${t} x`, PG)}`);
  const objects = pg(
    `SELECT 'view:' || viewname FROM pg_views WHERE schemaname='public'
     UNION ALL SELECT 'trigger:' || tgname FROM pg_trigger WHERE NOT tgisinternal
     UNION ALL SELECT 'function:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1`,
    PG,
  );
  return [...sums, objects].join("\n");
}

let tb: Testbed;

before(async () => {
  requireTool("mariadb", "mariadb-client");
  requireTool("mysqldump", "mariadb-client");
  requireTool("psql", "postgresql-client");
  requireTool("pg_dump", "postgresql-client");
  try {
    my("SELECT 1");
  } catch (err) {
    throw new Error(`MariaDB must answer on 127.0.0.1:3306 as root without a password (run scripts/test-env.sh): ${(err as Error).message}`);
  }
  my(`CREATE DATABASE ${MY} CHARACTER SET utf8mb4`);
  my(
    `CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100), note TEXT, avatar BLOB);
     CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount DECIMAL(12,2), payload VARBINARY(64));
     CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT);
     INSERT INTO customers SELECT seq, CONCAT('Kundë ', seq, ' — 日本'), REPEAT('ä', seq % 50), UNHEX(SHA2(seq, 256)) FROM seq_1_to_3000;
     INSERT INTO orders SELECT seq, 1 + seq % 3000, seq * 1.25, UNHEX(MD5(seq)) FROM seq_1_to_20000;
     CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 10000;
     CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (order_id) VALUES (NEW.id);
     CREATE FUNCTION net(x DECIMAL(12,2)) RETURNS DECIMAL(12,2) DETERMINISTIC RETURN x * 0.8;
     CREATE PROCEDURE top_customers(IN n INT) SELECT customer_id, SUM(amount) FROM orders GROUP BY customer_id ORDER BY 2 DESC LIMIT n;`,
    MY,
  );
  pg(`CREATE DATABASE ${PG} ENCODING 'UTF8' TEMPLATE template0`);
  pg(
    `CREATE TABLE people (id int PRIMARY KEY, name text, photo bytea);
     CREATE TABLE audit (person int);
     INSERT INTO people SELECT g, 'Pérson ' || g || ' ☃', decode(md5(g::text), 'hex') FROM generate_series(1, 5000) g;
     CREATE TABLE ledger AS SELECT g AS id, (g * 7) % 1000 AS balance FROM generate_series(1, 30000) g;
     CREATE VIEW rich AS SELECT id FROM ledger WHERE balance > 900;
     CREATE FUNCTION log_person() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END $$;
     CREATE TRIGGER people_audit AFTER INSERT ON people FOR EACH ROW EXECUTE FUNCTION log_person();`,
    PG,
  );
  tb = await Testbed.create();
  await tb.addAgent(
    "db1",
    ["/nonexistent-fs-root"],
    [join(tb.dir, "dumps")],
    `databases:
  maria:
    type: mysql
    host: 127.0.0.1
    port: 3306
    user: root
    allowRestore: true
  postgres:
    type: postgres
    host: 127.0.0.1
    port: 5432
    user: postgres
    allowRestore: true
  down:
    type: mysql
    host: 127.0.0.1
    port: 9
    user: root
  scoped:
    type: mysql
    host: 127.0.0.1
    port: 3306
    user: ${SCOPED_USER}
`,
  );
  tb.ok(["source", "add", "db1", "shop", "--type", "mysql", "--connection", "maria", "--databases", MY]);
  tb.ok(["source", "add", "db1", "people", "--type", "postgres", "--connection", "postgres", "--databases", PG]);
  tb.ok(["source", "add", "db1", "broken", "--type", "mysql", "--connection", "down", "--databases", MY]);
  // A database user that sees only its own databases, with no list given: every name it sees is dumped.
  my(`CREATE USER '${SCOPED_USER}'@'%'; GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON \`${MY}\`.* TO '${SCOPED_USER}'@'%';`);
  tb.ok(["source", "add", "db1", "everything", "--type", "mysql", "--connection", "scoped"]);
});

after(async () => {
  await tb?.destroy();
  try {
    my(`DROP DATABASE IF EXISTS ${MY}; DROP DATABASE IF EXISTS \`${HOSTILE}\`; DROP USER IF EXISTS '${SCOPED_USER}'@'%';`);
    pg(`DROP DATABASE IF EXISTS ${PG} WITH (FORCE)`);
  } catch {
    // best effort: the databases carry a random tag and never collide with another run
  }
  rmSync(trap, { recursive: true, force: true });
});

test("a MariaDB database is pulled as a dump, dropped, and restored identical through the agent", () => {
  const before = myFingerprint();
  const b = tb.json<{ snapshot: SnapshotRecord }>(["backup", "db1", "shop", "--level", "full"]).snapshot;
  assert.equal(b.sourceType, "mysql");
  assert.ok(b.stats.bytesTotal > 500_000, `dump of ${b.stats.bytesTotal} bytes`);
  my(`DROP DATABASE ${MY}`);
  const r = tb.cli(["restore", b.id, "--node", "db1", "--into-database", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(myFingerprint(), before);
  // Restoring over the existing database needs --overwrite.
  const again = tb.cli(["restore", b.id, "--node", "db1", "--into-database"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists|overwrite/i);
  assert.equal(tb.cli(["restore", b.id, "--node", "db1", "--into-database", "--overwrite"]).code, 0);
  assert.equal(myFingerprint(), before);
  // Or the dump as plain files, for an operator to inspect or load by hand.
  const dir = join(tb.dir, "dumps", "shop");
  tb.ok(["restore", b.id, "--node", "db1", "--target", dir]);
  const dumps = readdirSync(join(dir, "mysql")).filter((f) => f.endsWith(".sql"));
  assert.equal(dumps.length, 1);
  const sql = readFileSync(join(dir, "mysql", dumps[0]!), "utf8");
  assert.match(sql, /CREATE TABLE `orders`/);
  assert.match(sql, /Kundë 1 — 日本/);
});

test("a PostgreSQL database is pulled, dropped, and restored identical; a second daily dump deduplicates", () => {
  const before = pgFingerprint();
  const first = tb.json<{ snapshot: SnapshotRecord }>(["backup", "db1", "people", "--level", "full"]).snapshot;
  assert.equal(first.sourceType, "postgres");
  // A day's change: 1% of the ledger, at its recent end.
  pg("UPDATE ledger SET balance = balance + 1 WHERE id > 29700", PG);
  const second = tb.json<{ snapshot: SnapshotRecord }>(["backup", "db1", "people", "--level", "incremental"]).snapshot;
  assert.ok(second.stats.bytesNew < 0.25 * second.stats.bytesTotal, `second dump stored ${second.stats.bytesNew} new bytes of ${second.stats.bytesTotal}`);
  pg("UPDATE ledger SET balance = balance - 1 WHERE id > 29700", PG);
  assert.equal(pgFingerprint(), before);
  pg(`DROP DATABASE ${PG} WITH (FORCE)`);
  const r = tb.cli(["restore", first.id, "--node", "db1", "--into-database", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(pgFingerprint(), before);
});

test("a dump that cannot reach its server fails the job with the tool's reason and records no snapshot", () => {
  const r = tb.cli(["backup", "db1", "broken", "--level", "full"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /mysqldump exited with status 2: .*Can't connect/);
  assert.deepEqual(tb.json<unknown[]>(["snapshots", "db1", "broken"]), []);
  // The earlier snapshots of the other sources still restore (as files this time).
  const snap = tb.json<{ id: string }[]>(["snapshots", "db1", "shop"])[0]!;
  assert.equal(tb.cli(["ls", snap.id]).code, 0);
});

test("a database named like a mysqldump option is skipped with a warning naming it; the job completes with warnings", () => {
  my(`CREATE DATABASE \`${HOSTILE}\`; GRANT ALL ON \`${HOSTILE}\`.* TO '${SCOPED_USER}'@'%';`);
  const r = tb.cli(["backup", "db1", "everything", "--level", "full"]);
  assert.deepEqual(readdirSync(trap), [], "mysqldump wrote where the database name pointed");
  assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
  assert.match(`${r.stdout}${r.stderr}`, /database "--result-file=[^"]*x\.sql" was not backed up: its name starts with "-"/);
  const snap = tb.json<SnapshotRecord[]>(["snapshots", "db1", "everything"])[0]!;
  const dir = join(tb.dir, "dumps", "everything");
  tb.ok(["restore", snap.id, "--node", "db1", "--target", dir]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "mysql", "databases.json"), "utf8")).databases, [MY]);
  assert.match(readFileSync(join(dir, "mysql", "all-databases.sql"), "utf8"), /CREATE TABLE `orders`/);
});
