/**
 * A database user who may create databases picks their names, and a name is not an option: the
 * attack of issue 8 (item 2) played against the real MariaDB of this machine, through the agent's
 * own backup code path. `--result-file=PATH` as a database name once made mysqldump, running as
 * root, write the dump wherever the name pointed.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { SourceEvent } from "@pullback/common";
import { agentConfigSchema } from "../src/config/agent-config.js";
import { findConnection, openConnection, type DbKind } from "../src/sources/db-connection.js";
import { backupDbSource } from "../src/sources/db-source.js";
import { planPgDump } from "../src/sources/db-postgres.js";

const tag = `pbn${randomBytes(4).toString("hex")}`;
const dumper = `${tag}_dumper`;
const plainDb = `${tag}_plain`;
let work: string;
let hostileMy: string;
let hostilePg: string;
let brokenPg: string;

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}
const my = (sql: string, db?: string) => sh("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "--batch", "--skip-column-names", ...(db ? [db] : [])], sql);
const pg = (sql: string) => sh("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"], sql);

function config(databases: Record<string, object>) {
  return { ...agentConfigSchema.parse({ listen: "127.0.0.1:1", node: "n1", backup: { allow: ["/nonexistent"] }, databases }), configDir: work, pkiDir: work };
}

/** Runs the source to its end and returns what it emitted, with each dump file's text reassembled. */
async function runBackup(kind: DbKind, databases: Record<string, object>, params: Record<string, string>) {
  const connection = findConnection(config(databases), kind, params.connection);
  const chunks = new Map<string, Buffer>();
  const files = new Map<string, string>();
  const warnings: string[] = [];
  for await (const ev of backupDbSource({ kind, connection, params, codec: { name: "none" } }, { isKnown: () => false }) as AsyncGenerator<SourceEvent>) {
    if (ev.kind === "chunk") chunks.set(ev.id, ev.data);
    else if (ev.kind === "warning") warnings.push(ev.message);
    else if (ev.entry.type === "file") files.set(ev.entry.path, Buffer.concat((ev.entry.chunks ?? []).map((c) => chunks.get(c.id)!)).toString("utf8"));
  }
  return { files, warnings };
}

before(() => {
  try {
    my("SELECT 1");
  } catch (err) {
    throw new Error(`MariaDB on 127.0.0.1:3306 (root, no password) is needed: start it, or run scripts/test-env.sh (${(err as Error).message.split("\n")[0]})`);
  }
  // Short: a MariaDB database name has at most 64 characters.
  work = mkdtempSync(join(tmpdir(), "pbn-"));
  hostileMy = `--result-file=${join(work, "x.sql")}`;
  hostilePg = `-${tag}-hostile`;
  brokenPg = `${tag}-line\nbreak`;
});

after(() => {
  try {
    my(`DROP DATABASE IF EXISTS \`${hostileMy}\`; DROP DATABASE IF EXISTS \`${plainDb}\`; DROP USER IF EXISTS '${dumper}'@'%';`);
  } catch {
    // no server: the test failed saying so
  }
  try {
    pg(`DROP DATABASE IF EXISTS "${hostilePg}"; DROP DATABASE IF EXISTS "${brokenPg}";`);
  } catch {
    // no server: the test failed saying so
  }
  rmSync(work, { recursive: true, force: true });
});

test("mysql: a database named --result-file=PATH is skipped with a warning, nothing is written there, the others are dumped", async () => {
  // The database user of the attack: it sees only its own databases (the server is shared with
  // other tests), one of which it named after a mysqldump option.
  my(
    `CREATE DATABASE \`${plainDb}\`; CREATE DATABASE \`${hostileMy}\`;
     CREATE USER '${dumper}'@'%'; GRANT ALL ON \`${plainDb}\`.* TO '${dumper}'@'%'; GRANT ALL ON \`${hostileMy}\`.* TO '${dumper}'@'%';`,
  );
  my(`CREATE TABLE kept (id INT PRIMARY KEY); INSERT INTO kept VALUES (42);`, plainDb);
  const r = await runBackup("mysql", { local: { type: "mysql", host: "127.0.0.1", port: 3306, user: dumper } }, { connection: "local" });

  assert.deepEqual(readdirSync(work), [], "mysqldump wrote where the database name pointed");
  assert.equal(r.warnings.length, 1, r.warnings.join("\n"));
  assert.match(r.warnings[0]!, /database "--result-file=.*x\.sql" was not backed up: its name starts with "-"/);
  const layout = JSON.parse(r.files.get("mysql/databases.json")!) as { databases: string[] };
  assert.deepEqual(layout.databases, [plainDb]);
  const dump = r.files.get("mysql/all-databases.sql")!;
  assert.match(dump, new RegExp(`CREATE DATABASE .*\`${plainDb}\``));
  assert.match(dump, /INSERT INTO `kept` VALUES\s*\(42\)/);
  assert.doesNotMatch(dump, /result-file/);
});

test("mysql: a database name asked for explicitly that starts with '-' is refused before any tool runs", async () => {
  await assert.rejects(
    runBackup("mysql", { local: { type: "mysql", host: "127.0.0.1", port: 3306, user: "root" } }, { connection: "local", databases: `${plainDb},${hostileMy}` }),
    /"--result-file=.*" is not a database name a dump tool can be given: it starts with "-"/,
  );
  assert.equal(existsSync(join(work, "x.sql")), false);
});

test("postgres: databases from pg_database named with a leading '-' or a line break are left out of pg_dumpall and of the per-database dumps", async () => {
  // A line break stops pg_dump and pg_dumpall for the whole cluster: one CREATE DATABASE would
  // otherwise end every backup of it.
  pg(`CREATE DATABASE "${hostilePg}"; CREATE DATABASE "${brokenPg}";`);
  const cfg = config({ local: { type: "postgres", host: "127.0.0.1", port: 5432, user: "postgres" } });
  const conn = await openConnection("local", cfg.databases.local!);
  try {
    const all = await planPgDump(conn, "local", null, "plain", true);
    assert.deepEqual(all.skipped.map((s) => s.name).sort(), [hostilePg, brokenPg].sort());
    assert.match(all.skipped.find((s) => s.name === brokenPg)!.reason, /line break/);
    assert.ok(!all.databases.includes(hostilePg) && !all.databases.includes(brokenPg));
    const args = all.files[0]!.command.args;
    assert.equal(args[0], "-w");
    // Each pattern matches its database alone: psql's \l reads patterns as pg_dumpall does.
    for (const arg of args.slice(1)) {
      const pattern = arg.slice("--exclude-database=".length);
      const matched = sh("psql", ["-X", "-A", "-t", "-0", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", `\\l ${pattern}`]);
      const names = matched.split("\0").filter((l) => l.trim()).map((l) => l.replace(/^\n/, "").split("|")[0]);
      assert.equal(names.length, 1, `${arg} matched ${JSON.stringify(names)}`);
      assert.ok([hostilePg, brokenPg].includes(names[0]!), `${arg} matched ${names[0]}`);
    }
    const each = await planPgDump(conn, "local", null, "custom", false);
    assert.deepEqual(each.skipped.map((s) => s.name).sort(), [hostilePg, brokenPg].sort());
    assert.ok(each.files.every((f) => f.database !== hostilePg && f.database !== brokenPg));
  } finally {
    await conn.dispose();
  }
});
