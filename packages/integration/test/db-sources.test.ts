/**
 * Database sources against the real MariaDB and PostgreSQL servers of this machine: dump through
 * the source into the master's own SnapshotWriter and Store, drop the databases, replay the stored
 * snapshot through the restore sink, and compare rows, checksums and schema objects.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { initCodecs, type SnapshotRecord } from "@pullback/common";
import {
  DbRestoreSink,
  agentConfigSchema,
  backupDbSource,
  findConnection,
  openConnection,
  restoreTarget,
  type AgentConfig,
  type DbKind,
} from "@pullback/agent";
import * as master from "@pullback/master";

const tag = `pbt_${randomBytes(4).toString("hex")}`;
let store: master.Store;
let work: string;

// ---------------------------------------------------------------- helpers

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], maxBuffer: 64 << 20 });
}
const my = (sql: string, db?: string) => sh("mysql", ["-h127.0.0.1", "-P3306", "-uroot", "--batch", "--skip-column-names", "--default-character-set=utf8mb4", ...(db ? [db] : [])], sql);
const pg = (sql: string, db = "postgres") => sh("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", db], sql);

function requireServer(what: string, probe: () => unknown, remedy: string): void {
  try {
    probe();
  } catch (err) {
    throw new Error(`${what} is needed by this test and is not usable (${(err as Error).message.split("\n")[0]}): ${remedy}`);
  }
}

function config(databases: Record<string, object>): AgentConfig {
  const cfg = agentConfigSchema.parse({ listen: "127.0.0.1:1", node: "n1", backup: { allow: ["/nonexistent"] }, databases });
  return { ...cfg, configDir: work, pkiDir: work };
}

async function backup(cfg: AgentConfig, kind: DbKind, source: string, params: Record<string, string>, hooks: { onToolStart?(t: string, pid: number): void; onProgress?(bytes: number): void } = {}) {
  const known = new Set<string>();
  for (const r of await store.snapshots.list({ node: "n1", source })) for await (const e of master.readManifest(store.chunks, r.manifest)) for (const c of e.chunks ?? []) known.add(c.id);
  const writer = new master.SnapshotWriter(store, { node: "n1", source, sourceType: kind, level: "full", requestedLevel: "full", base: null, codec: { name: "zstd" }, trusted: known });
  const connection = findConnection(cfg, kind, params.connection);
  let bytesRead = 0;
  const started = Date.now();
  for await (const ev of backupDbSource(
    { kind, connection, params, codec: { name: "zstd" } },
    {
      isKnown: (id) => known.has(id),
      onProgress: (p) => {
        bytesRead = p.bytesRead;
        hooks.onProgress?.(p.bytesRead);
      },
      ...(hooks.onToolStart ? { onToolStart: hooks.onToolStart } : {}),
    },
  )) {
    await writer.handle(ev);
  }
  writer.setBytesRead(bytesRead);
  const record = await writer.seal();
  return { record, seconds: (Date.now() - started) / 1000 };
}

async function restore(cfg: AgentConfig, kind: DbKind, connectionName: string, record: SnapshotRecord, overwrite: boolean) {
  const { name, db } = findConnection(cfg, kind, connectionName);
  const conn = await openConnection(name, db);
  const sink = new DbRestoreSink(restoreTarget(kind, conn, name, db.maintenanceDatabase), { kind, connection: name, overwrite });
  try {
    for await (const e of master.readManifest(store.chunks, record.manifest)) {
      await sink.entry(e);
      for (const c of e.chunks ?? []) await sink.chunk(c.id, await store.chunks.get(c.id));
    }
    return await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await conn.dispose();
  }
}

async function expectNoSnapshot(source: string, run: () => Promise<unknown>, reason: RegExp) {
  await assert.rejects(run, reason);
  assert.deepEqual(await store.snapshots.list({ node: "n1", source }), [], `a failed dump of ${source} must leave no snapshot`);
}

before(async () => {
  await initCodecs();
  work = mkdtempSync(join(tmpdir(), "pullback-db-"));
  store = await master.Store.create(join(work, "store"));
});
after(() => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------- MariaDB

const myA = `${tag}_shop`;
const myB = `${tag}_Ünï`;
const myUser = `${tag}_u`;

function mysqlState(db: string) {
  const q = (sql: string) => my(sql, db).trim();
  const tables = q(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=DATABASE() AND TABLE_TYPE='BASE TABLE' ORDER BY 1`).split("\n").filter(Boolean);
  return {
    tables: Object.fromEntries(tables.map((t) => [t, { rows: q(`SELECT COUNT(*) FROM \`${t}\``), checksum: q(`CHECKSUM TABLE \`${t}\` EXTENDED`) }])),
    views: q(`SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA=DATABASE() ORDER BY 1`),
    triggers: q(`SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA=DATABASE() ORDER BY 1`),
    routines: q(`SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=DATABASE() ORDER BY 1`),
    events: q(`SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA=DATABASE() ORDER BY 1`),
    sample: tables.includes("customers") ? q(`SELECT name, HEX(photo) FROM customers WHERE id IN (1, 2, 3) ORDER BY id`) : "",
  };
}

function createMysqlFixture(): void {
  my(`CREATE DATABASE \`${myA}\` CHARACTER SET utf8mb4; CREATE DATABASE \`${myB}\` CHARACTER SET utf8mb4;`);
  my(
    `CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, photo VARBINARY(64), note TEXT) ENGINE=InnoDB;
     CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2), payload BLOB, KEY (customer_id)) ENGINE=InnoDB;
     CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT, at_amount DECIMAL(12,2)) ENGINE=InnoDB;
     CREATE VIEW big_orders AS SELECT o.id, c.name, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.amount > 900;
     CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (order_id, at_amount) VALUES (NEW.id, NEW.amount);
     CREATE FUNCTION net(x DECIMAL(12,2)) RETURNS DECIMAL(12,2) DETERMINISTIC RETURN x * 0.8;
     CREATE PROCEDURE top_customers(IN n INT) SELECT customer_id, SUM(amount) FROM orders GROUP BY customer_id ORDER BY 2 DESC LIMIT n;
     CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE id < 0;
     INSERT INTO customers SELECT seq, CONCAT(ELT(1 + seq % 5, 'Zoë', '日本語', 'Ελληνικά', 'emoji 😀', 'naïve'), ' #', seq), UNHEX(SHA2(seq, 256)), REPEAT('lorem ipsum ', 1 + seq % 20) FROM seq_1_to_5000;
     INSERT INTO orders SELECT seq, 1 + seq % 5000, (seq * 7919) % 100000 / 100, UNHEX(CONCAT(SHA2(seq, 512), '00FF00')) FROM seq_1_to_40000;`,
    myA,
  );
  my(`CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t SELECT seq, CONCAT('ß', seq) FROM seq_1_to_3000;`, myB);
}

const mysqlConfig = () =>
  config({
    local: { type: "mysql", host: "127.0.0.1", port: 3306, user: "root", allowRestore: true },
    down: { type: "mysql", host: "127.0.0.1", port: 1, user: "root" },
    wrongpw: { type: "mysql", host: "127.0.0.1", port: 3306, user: myUser, passwordFile: join(work, "wrong.pw") },
    rightpw: { type: "mysql", host: "127.0.0.1", port: 3306, user: myUser, passwordFile: join(work, "right.pw") },
  });

test("mysql: dump, deduplicated second dump, drop, restore: identical rows, checksums and schema objects", async (t) => {
  requireServer("MariaDB on 127.0.0.1:3306 (root, empty password)", () => my("SELECT 1"), "install mariadb-server mariadb-client and start it (`service mariadb start`), or run `bash scripts/test-env.sh` as root");
  createMysqlFixture();
  const cfg = mysqlConfig();
  const params = { connection: "local", databases: `${myA},${myB}` };

  const first = await backup(cfg, "mysql", "my", params);
  const size = first.record.stats.bytesTotal;
  t.diagnostic(`mysql full dump: ${(size / 1e6).toFixed(1)} MB in ${first.seconds.toFixed(2)} s = ${(size / 1e6 / first.seconds).toFixed(1)} MB/s through source + SnapshotWriter; stored ${(first.record.stats.bytesStored / 1e6).toFixed(1)} MB`);

  // A day's change: 1% of orders updated (recent ones, as in most applications) and 1% new orders.
  my(`UPDATE orders SET amount = amount + 1 WHERE id > 39600; INSERT INTO orders SELECT 40000 + seq, 1 + seq % 5000, 1.5, UNHEX('00') FROM seq_1_to_400;`, myA);
  const second = await backup(cfg, "mysql", "my", params);
  const frac = second.record.stats.bytesNew / second.record.stats.bytesTotal;
  t.diagnostic(`mysql 1%-changed dump: ${(second.record.stats.bytesTotal / 1e6).toFixed(1)} MB, new ${(second.record.stats.bytesNew / 1e3).toFixed(0)} kB (${(100 * frac).toFixed(1)}%), stored ${(second.record.stats.bytesStored / 1e3).toFixed(0)} kB`);
  assert.ok(frac < 0.1, `the second dump stored ${(100 * frac).toFixed(1)}% of its size: daily dumps do not deduplicate`);

  const before = [mysqlState(myA), mysqlState(myB)];
  assert.equal(before[0]!.tables.orders!.rows, "40400");
  my(`DROP DATABASE \`${myA}\`; DROP DATABASE \`${myB}\`;`);
  await restore(cfg, "mysql", "local", second.record, false);
  assert.deepEqual([mysqlState(myA), mysqlState(myB)], before);
  // Restored objects work, not just exist.
  assert.equal(my(`SELECT net(10)`, myA).trim(), "8.00");
  my(`INSERT INTO orders VALUES (999999, 1, 5, NULL)`, myA);
  assert.equal(my(`SELECT COUNT(*) FROM audit WHERE order_id = 999999`, myA).trim(), "1");

  // Restoring over existing databases needs the explicit flag; with it, the dump replaces them.
  await assert.rejects(restore(cfg, "mysql", "local", first.record, false), /already exist on connection local.*overwrite/);
  await restore(cfg, "mysql", "local", first.record, true);
  assert.equal(my(`SELECT COUNT(*) FROM orders`, myA).trim(), "40000");
  assert.equal(my(`SELECT COUNT(*) FROM audit WHERE order_id = 999999`, myA).trim(), "0");
});

test("mysql: wrong password, server down and a dump killed halfway fail with the reason and leave no snapshot", async () => {
  requireServer("MariaDB on 127.0.0.1:3306 (root, empty password)", () => my("SELECT 1"), "install mariadb-server mariadb-client and start it (`service mariadb start`), or run `bash scripts/test-env.sh` as root");
  const cfg = mysqlConfig();
  const pw = randomBytes(12).toString("base64url");
  my(`CREATE USER '${myUser}'@'%' IDENTIFIED BY '${pw}'; GRANT ALL ON \`${tag}%\`.* TO '${myUser}'@'%';`);
  writeFileSync(join(work, "right.pw"), `${pw}\n`, { mode: 0o600 });
  writeFileSync(join(work, "wrong.pw"), "not-the-password\n", { mode: 0o600 });

  await expectNoSnapshot("my-wrongpw", () => backup(cfg, "mysql", "my-wrongpw", { connection: "wrongpw", databases: myA }), /mysqldump exited with status 2: .*Access denied for user/);
  await expectNoSnapshot("my-down", () => backup(cfg, "mysql", "my-down", { connection: "down", databases: myA }), /mysqldump exited with status 2: .*Can't connect to server on '127\.0\.0\.1'/);
  await expectNoSnapshot(
    "my-killed",
    () => {
      let pid = 0;
      return backup(cfg, "mysql", "my-killed", { connection: "local", databases: myA }, {
        onToolStart: (_tool, p) => (pid = p),
        onProgress: (bytes) => {
          if (bytes > 512 * 1024 && pid) process.kill(pid, "SIGKILL");
        },
      });
    },
    /mysqldump was killed by SIGKILL/,
  );
  // The password file works when it holds the right password (through a private option file).
  const ok = await backup(cfg, "mysql", "my-rightpw", { connection: "rightpw", databases: myB });
  assert.ok(ok.record.stats.bytesTotal > 10_000);
});

after(() => {
  try {
    my(`DROP DATABASE IF EXISTS \`${myA}\`; DROP DATABASE IF EXISTS \`${myB}\`; DROP USER IF EXISTS '${myUser}'@'%';`);
  } catch {
    // the server was never there; the test already failed saying so
  }
});

// ---------------------------------------------------------------- PostgreSQL

const pgA = `${tag}_bench`;
const pgB = `${tag}_Ünï`;

function pgState(db: string) {
  const q = (sql: string) => pg(sql, db).trim();
  const tables = q(`SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`).split("\n").filter(Boolean);
  return {
    tables: Object.fromEntries(tables.map((t) => [t, q(`SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM ${t} x`)])),
    views: q(`SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1`),
    triggers: q(`SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`),
    functions: q(`SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1`),
    encoding: q(`SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`),
  };
}

function createPgFixture(): void {
  pg(`CREATE DATABASE "${pgA}"`);
  pg(`CREATE DATABASE "${pgB}"`);
  sh("pgbench", ["-i", "-q", "-s", "2", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", pgA]);
  pg(
    `CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, photo bytea, tags text[]);
     CREATE TABLE audit (id serial PRIMARY KEY, person int, at timestamptz DEFAULT '2024-01-01');
     CREATE VIEW rich AS SELECT aid, abalance FROM pgbench_accounts WHERE abalance > 0;
     CREATE FUNCTION log_person() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (person) VALUES (NEW.id); RETURN NEW; END $$;
     CREATE TRIGGER people_audit AFTER INSERT ON people FOR EACH ROW EXECUTE FUNCTION log_person();
     CREATE FUNCTION net(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT x * 0.8';
     INSERT INTO people SELECT g, (ARRAY['Zoë','日本語','Ελληνικά','emoji 😀','naïve'])[1 + g % 5] || ' #' || g, sha256(g::text::bytea) || '\\x00ff00'::bytea, ARRAY['a', 'ü'] FROM generate_series(1, 5000) g;
     UPDATE pgbench_accounts SET abalance = aid % 1000 WHERE aid % 7 = 0;`,
    pgA,
  );
  pg(`CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'ß' || g FROM generate_series(1, 3000) g;`, pgB);
}

const pgConfig = () =>
  config({
    local: { type: "postgres", host: "127.0.0.1", port: 5432, user: "postgres", allowRestore: true },
    down: { type: "postgres", host: "127.0.0.1", port: 1, user: "postgres" },
    nouser: { type: "postgres", host: "127.0.0.1", port: 5432, user: `${tag}_nobody` },
  });

function dropPg(...dbs: string[]): void {
  for (const d of dbs) pg(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
}

test("postgres: plain and custom dumps, deduplicated second dump, drop, restore: identical rows, checksums and schema objects", async (t) => {
  requireServer("PostgreSQL on 127.0.0.1:5432 (user postgres, trust)", () => pg("SELECT 1"), "install postgresql postgresql-client (pgbench comes with postgresql-contrib on older releases) and start it (`service postgresql start`), or run `bash scripts/test-env.sh` as root");
  requireServer("pgbench", () => sh("pgbench", ["--version"]), "install the Debian package postgresql-client");
  createPgFixture();
  const cfg = pgConfig();
  const params = { connection: "local", databases: `${pgA},${pgB}` };

  const first = await backup(cfg, "postgres", "pg", params);
  const size = first.record.stats.bytesTotal;
  t.diagnostic(`postgres full dump (globals + 2 × pg_dump plain): ${(size / 1e6).toFixed(1)} MB in ${first.seconds.toFixed(2)} s = ${(size / 1e6 / first.seconds).toFixed(1)} MB/s; stored ${(first.record.stats.bytesStored / 1e6).toFixed(1)} MB`);

  // 1% of the accounts change (a contiguous range, like a day's active customers) and 1% are new.
  pg(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid > 198000; INSERT INTO pgbench_accounts SELECT 200000 + g, 1, 0, '' FROM generate_series(1, 2000) g;`, pgA);
  const second = await backup(cfg, "postgres", "pg", params);
  const frac = second.record.stats.bytesNew / second.record.stats.bytesTotal;
  t.diagnostic(`postgres 1%-changed dump: ${(second.record.stats.bytesTotal / 1e6).toFixed(1)} MB, new ${(second.record.stats.bytesNew / 1e3).toFixed(0)} kB (${(100 * frac).toFixed(1)}%), stored ${(second.record.stats.bytesStored / 1e3).toFixed(0)} kB`);
  assert.ok(frac < 0.1, `the second dump stored ${(100 * frac).toFixed(1)}% of its size: daily dumps do not deduplicate`);

  const custom = await backup(cfg, "postgres", "pg-custom", { ...params, format: "custom" });
  t.diagnostic(`postgres custom-format dump: ${(custom.record.stats.bytesTotal / 1e6).toFixed(1)} MB in ${custom.seconds.toFixed(2)} s`);

  const before = [pgState(pgA), pgState(pgB)];
  assert.match(before[0]!.tables["public.pgbench_accounts"]!, /^202000 /);
  for (const [label, record] of [["plain", second.record], ["custom", custom.record]] as const) {
    dropPg(pgA, pgB);
    await restore(cfg, "postgres", "local", record, false);
    assert.deepEqual([pgState(pgA), pgState(pgB)], before, `${label} restore differs`);
  }
  assert.equal(pg(`SELECT net(10)`, pgA).trim(), "8.0");
  pg(`INSERT INTO people VALUES (999999, 'x')`, pgA);
  assert.equal(pg(`SELECT count(*) FROM audit WHERE person = 999999`, pgA).trim(), "1");

  await assert.rejects(restore(cfg, "postgres", "local", first.record, false), /already exist on connection local.*overwrite/);
  await restore(cfg, "postgres", "local", first.record, true);
  assert.equal(pg(`SELECT count(*) FROM pgbench_accounts`, pgA).trim(), "200000");
});

test("postgres: unknown role, server down and a dump killed halfway fail with the reason and leave no snapshot", async () => {
  requireServer("PostgreSQL on 127.0.0.1:5432 (user postgres, trust)", () => pg("SELECT 1"), "install postgresql postgresql-client and start it (`service postgresql start`), or run `bash scripts/test-env.sh` as root");
  const cfg = pgConfig();
  // This server trusts loopback, so a wrong password is never checked: a role that does not exist is.
  await expectNoSnapshot("pg-nouser", () => backup(cfg, "postgres", "pg-nouser", { connection: "nouser", databases: pgA }), /role "pbt_[0-9a-f]+_nobody" does not exist/);
  await expectNoSnapshot("pg-down", () => backup(cfg, "postgres", "pg-down", { connection: "down", databases: pgA }), /exited with status 1: .*(Connection refused|could not connect)/);
  await expectNoSnapshot(
    "pg-killed",
    () => {
      let pid = 0;
      return backup(cfg, "postgres", "pg-killed", { connection: "local", databases: pgA, globals: "false" }, {
        onToolStart: (tool, p) => {
          if (tool === "pg_dump") pid = p;
        },
        onProgress: (bytes) => {
          if (bytes > 512 * 1024 && pid) process.kill(pid, "SIGKILL");
        },
      });
    },
    /pg_dump was killed by SIGKILL/,
  );
});

test("postgres: a replay that fails reports the tool's own error", async () => {
  requireServer("PostgreSQL on 127.0.0.1:5432 (user postgres, trust)", () => pg("SELECT 1"), "install postgresql postgresql-client and start it (`service postgresql start`), or run `bash scripts/test-env.sh` as root");
  const cfg = pgConfig();
  const db = `${tag}_owned`;
  const role = `${tag}_owner`;
  pg(`CREATE ROLE "${role}"`);
  pg(`CREATE DATABASE "${db}"`);
  pg(`CREATE TABLE x (id int); ALTER TABLE x OWNER TO "${role}";`, db);
  // Without the globals the role is not in the snapshot; once it is gone the dump cannot be replayed.
  const { record } = await backup(cfg, "postgres", "pg-owned", { connection: "local", databases: db, globals: "false" });
  dropPg(db);
  pg(`DROP ROLE "${role}"`);
  await assert.rejects(restore(cfg, "postgres", "local", record, false), new RegExp(`restore postgres/db-${tag}_owned\\.sql: psql exited with status 3: .*role "${role}" does not exist`));
  dropPg(db);
});

after(() => {
  try {
    dropPg(pgA, pgB, `${tag}_owned`);
    pg(`DROP ROLE IF EXISTS "${tag}_owner"`);
  } catch {
    // the server was never there; the test already failed saying so
  }
});
