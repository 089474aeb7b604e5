/**
 * A database snapshot comes from a node, and a node may be compromised: its "dump" is hostile input
 * to the client tool that replays it, which runs on the node an operator restores into (issue 8,
 * item 1). These tests replay crafted dumps through the agent's restore sink into the real
 * PostgreSQL and MariaDB of this machine and check that nothing the client tools could do outside
 * SQL happened: no shell command, no file written, no local file read. A real pg_dumpall of a
 * throwaway cluster must still restore whole.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chunkId, type Entry, type SourceEvent } from "@pullback/common";
import { agentConfigSchema, type AgentConfig } from "../src/config/agent-config.js";
import { findConnection, openConnection, type DbKind } from "../src/sources/db-connection.js";
import { encodeLayout, LAYOUT_FORMAT, type DumpFileInfo } from "../src/sources/db-layout.js";
import { backupDbSource } from "../src/sources/db-source.js";
import { DbRestoreSink } from "../src/restore/db-restore-sink.js";
import { restoreTarget } from "../src/restore/db-restore-target.js";

const tag = `pbh${randomBytes(4).toString("hex")}`;
let work: string;

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}
const my = (sql: string, db?: string) => sh("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "--batch", "--skip-column-names", ...(db ? [db] : [])], sql);
const pg = (sql: string, db = "postgres", port = 5432) => sh("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", db], sql);

function config(databases: Record<string, object>): AgentConfig {
  return { ...agentConfigSchema.parse({ listen: "127.0.0.1:1", node: "n1", backup: { allow: ["/nonexistent"] }, databases }), configDir: work, pkiDir: work };
}

/** A directory of its own per test, world-writable as /tmp is: whatever a dump sneaks through can write here. */
function canaryDir(): string {
  const dir = mkdtempSync(join(work, "canary-"));
  chmodSync(dir, 0o1777);
  return dir;
}

function fileEntry(path: string, bytes: Buffer): Entry {
  const chunks = bytes.length ? [{ id: chunkId(bytes), off: 0, len: bytes.length }] : [];
  return { path, type: "file", mode: 0o600, uid: 0, gid: 0, mtimeNs: "1", atimeNs: "1", ctimeNs: "1", size: bytes.length, ino: 0, dev: 0, chunks };
}

/** Replays a snapshot of the given dump files through the agent's restore sink, as a Restore call does. */
async function restoreDump(cfg: AgentConfig, kind: DbKind, databases: string[], files: Array<DumpFileInfo & { text: string }>, overwrite = false) {
  const { name, db } = findConnection(cfg, kind, "local");
  const conn = await openConnection(name, db);
  const sink = new DbRestoreSink(restoreTarget(kind, conn, name, db.maintenanceDatabase), { kind, connection: name, overwrite });
  try {
    const layout = encodeLayout({ format: LAYOUT_FORMAT, kind, databases, files: files.map(({ text: _t, ...info }) => info), tool: "crafted" });
    await sink.entry({ ...fileEntry(kind, Buffer.alloc(0)), type: "dir" });
    for (const [path, bytes] of [[`${kind}/databases.json`, layout], ...files.map((f) => [f.path, Buffer.from(f.text)] as const)] as const) {
      await sink.entry(fileEntry(path, bytes));
      if (bytes.length) await sink.chunk(chunkId(bytes), bytes);
    }
    return await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await conn.dispose();
  }
}

before(() => {
  for (const [what, probe] of [
    ["PostgreSQL on 127.0.0.1:5432 (user postgres, trust)", () => pg("SELECT 1")],
    ["MariaDB on 127.0.0.1:3306 (root, no password)", () => my("SELECT 1")],
  ] as const) {
    try {
      probe();
    } catch (err) {
      throw new Error(`${what} is needed by this test: start it, or run scripts/test-env.sh (${(err as Error).message.split("\n")[0]})`);
    }
  }
  work = mkdtempSync(join(tmpdir(), "pullback-hostile-"));
  // Other users (the cluster's postgres, a runAs user) must reach the directories inside.
  chmodSync(work, 0o755);
});

after(() => {
  try {
    pg(`DROP DATABASE IF EXISTS "${tag}_evil" WITH (FORCE)`);
  } catch {
    // no server: the test failed saying so
  }
  try {
    my(`DROP DATABASE IF EXISTS \`${tag}_loot\``);
  } catch {
    // no server: the test failed saying so
  }
  rmSync(work, { recursive: true, force: true });
});

const pgLocal = () => config({ local: { type: "postgres", host: "127.0.0.1", port: 5432, user: "postgres", allowRestore: true } });

test("postgres: a crafted pg_dumpall file with \\!, \\copy … program, \\o, \\g |cmd and a guessed \\unrestrict runs none of them", async () => {
  const dir = canaryDir();
  const w = (name: string) => join(dir, name);
  const guessed = randomBytes(24).toString("base64url").replace(/[-_]/g, "x");
  const dump = [
    "SELECT 1;",
    `\\! id > ${w("shell")}`,
    `\\copy (SELECT 1) TO PROGRAM 'id > ${w("copy-program")}'`,
    `\\o ${w("o-file")}`,
    "SELECT 'where does this go';",
    "\\o",
    // pg_dump's own pair is dropped; what it encloses still meets the restore's lock.
    `\\restrict ${guessed}`,
    `\\! id > ${w("inside-own-restrict")}`,
    `\\unrestrict ${guessed}`,
    // A guess at the restore's key lifts nothing.
    `\\unrestrict ${guessed}`,
    `\\! id > ${w("after-unrestrict")}`,
    `SELECT 2; \\unrestrict ${guessed}`,
    `\\! id > ${w("after-inline-unrestrict")}`,
    `SELECT 3 \\g |id > ${w("g-pipe")}`,
    // A \connect that is not pg_dump's (a host besides the name) is not followed either.
    "\\connect postgres 127.0.0.2",
    `\\! id > ${w("after-connect")}`,
    '\\connect -reuse-previous=on "dbname=postgres host=127.0.0.2"',
    `\\! id > ${w("after-conninfo-connect")}`,
    "",
  ].join("\n");
  const failure = await restoreDump(pgLocal(), "postgres", [], [{ path: "postgres/all-databases.sql", format: "sql", text: dump }]).then(() => undefined, (err: unknown) => err);
  assert.deepEqual(readdirSync(dir), [], "a meta-command in the dump ran");
  assert.match(String(failure), /the dump contains psql meta-commands .* psql refused them: psql:<stdin>:\d+: error: backslash commands are restricted.*Do not load it by hand/);
});

test("postgres: after pg_dump's own \\connect the new psql is locked too; the switch itself is followed", async () => {
  const db = `${tag}_evil`;
  const dir = canaryDir();
  const dump = [`CREATE DATABASE "${db}";`, `\\connect ${db}`, "CREATE TABLE reached (v text);", `\\! id > ${join(dir, "per-db")}`, "CREATE TABLE after_shell (v text);", ""].join("\n");
  const failure = await restoreDump(pgLocal(), "postgres", [db], [{ path: `postgres/db-${db}.sql`, format: "sql", database: db, text: dump }]).then(() => undefined, (err: unknown) => err);
  assert.deepEqual(readdirSync(dir), [], "a meta-command in the dump ran");
  assert.match(String(failure), /restore postgres\/db-pbh[0-9a-f]+_evil\.sql: the dump contains psql meta-commands/);
  // The SQL before the refused command ran in the database the dump switched to; ON_ERROR_STOP
  // stopped everything after it.
  assert.equal(pg("SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'", db).trim(), "reached");
});

test("mysql: a crafted dump cannot run system / \\! / tee nor read a local file with LOAD DATA LOCAL INFILE", async () => {
  const db = `${tag}_loot`;
  const dir = canaryDir();
  const secret = join(dir, "root-only-secret");
  writeFileSync(secret, `the node's secret ${randomBytes(8).toString("hex")}\n`, { mode: 0o600 });
  chownSync(secret, 0, 0);
  const cfg = config({ local: { type: "mysql", host: "127.0.0.1", port: 3306, user: "root", allowRestore: true } });
  const prelude = [`CREATE DATABASE \`${db}\`;`, `USE \`${db}\`;`, "CREATE TABLE loot (line TEXT);"];
  // Each attack alone: the client stops at the first error, which would hide the ones after it.
  const attacks: Array<[string, RegExp]> = [
    [`system touch ${join(dir, "system")}`, /status 1: [^]*You have an error in your SQL syntax[^]*system touch/],
    [`\\! touch ${join(dir, "bang")}`, /status 1: [^]*(Unknown command '\\!'|Not allowed in the sandbox mode)/],
    [`tee ${join(dir, "tee")}\nSELECT 1;`, /status 1: [^]*You have an error in your SQL syntax/],
    [`LOAD DATA LOCAL INFILE '${secret}' INTO TABLE loot;`, /status 1: [^]*disabled the local infile capability/],
  ];
  for (const [attack, refusal] of attacks) {
    my(`DROP DATABASE IF EXISTS \`${db}\``);
    const dump = [...prelude, attack, ""].join("\n");
    const failure = await restoreDump(cfg, "mysql", [db], [{ path: "mysql/all-databases.sql", format: "sql", text: dump }]).then(() => undefined, (err: unknown) => err);
    assert.deepEqual(readdirSync(dir), ["root-only-secret"], `a client command in the dump ran: ${attack}`);
    assert.equal(my("SELECT COUNT(*) FROM loot", db).trim(), "0", `the client sent a local file to the server: ${attack}`);
    assert.match(String(failure), refusal, attack);
  }
});

// ---------------------------------------------------------------- a real pg_dumpall still restores

/** Where the server's programs (initdb, pg_ctl) live: Debian keeps them off PATH. */
function serverBinDir(): string {
  try {
    return sh("pg_config", ["--bindir"]).trim();
  } catch (err) {
    throw new Error(`pg_config is needed to find initdb for a throwaway cluster: install postgresql (${(err as Error).message.split("\n")[0]})`);
  }
}

/** A throwaway cluster: a whole-cluster restore must not touch the shared server of the other tests. */
function startCluster(): { port: number; stop(): void } {
  const data = join(work, "cluster");
  execFileSync("install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "0700", data]);
  const bin = serverBinDir();
  const asPostgres = (cmd: string, args: string[]) => execFileSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: "/" });
  asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
  const port = 20000 + Math.floor(Math.random() * 20000);
  asPostgres("pg_ctl", ["-D", data, "-w", "-l", join(data, "log"), "-o", `-p ${port} -k ${data} -c listen_addresses=127.0.0.1 -c fsync=off`, "start"]);
  return { port, stop: () => asPostgres("pg_ctl", ["-D", data, "-w", "-m", "immediate", "stop"]) };
}

test("postgres: a real pg_dumpall (\\restrict, \\connect, \\encoding, COPY data, meta-command look-alikes in a function) restores whole through the locked psql", async (t) => {
  if (!existsSync(join(serverBinDir(), "initdb"))) throw new Error("initdb is needed to make a throwaway cluster: install postgresql");
  const cluster = startCluster();
  try {
    const q = (sql: string, db = "postgres") => pg(sql, db, cluster.port);
    const names = ["shop", "Ünï-code db", `it's "quoted" \\ too`];
    q(`CREATE ROLE app LOGIN`);
    for (const n of names) q(`CREATE DATABASE "${n.replace(/"/g, '""')}" OWNER app`);
    q(
      `CREATE TABLE items (id int PRIMARY KEY, name text, raw bytea);
       INSERT INTO items SELECT g, 'Zoë \\ ' || g || E'\\n\\\\N', sha256(g::text::bytea) FROM generate_series(1, 20000) g;
       -- Lines that look like meta-commands, inside a function body: data, to be restored as they are.
       CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT '
\\connect shop
\\restrict abc
\\unrestrict abc
\\! id
' $$;
       ALTER TABLE items OWNER TO app;`,
      "shop",
    );
    q(`CREATE TABLE t (v text); INSERT INTO t VALUES ('ü');`, names[1]);
    const fingerprint = () =>
      names.map((n) => q(`SELECT current_database() || ':' || coalesce((SELECT count(*) || md5(string_agg(x::text, ',' ORDER BY x::text)) FROM (SELECT * FROM pg_tables WHERE schemaname = 'public') x), '')`, n)).join("") +
      q(`SELECT count(*) || ':' || md5(string_agg(i::text, ',' ORDER BY id)) FROM items i`, "shop") +
      q(`SELECT f()`, "shop");
    const before = fingerprint();
    assert.match(before, /\n\\connect shop\n\\restrict abc\n/);
    // Names a database user may pick to break or subvert the dump: left out, with a warning each.
    q(`CREATE DATABASE "line\nbreak"`);
    q(`CREATE DATABASE "--file=/tmp/x"`);

    const cfg = config({ local: { type: "postgres", host: "127.0.0.1", port: cluster.port, user: "postgres", allowRestore: true } });
    const connection = findConnection(cfg, "postgres", "local");
    const chunks = new Map<string, Buffer>();
    const files: Entry[] = [];
    const warnings: string[] = [];
    for await (const ev of backupDbSource({ kind: "postgres", connection, params: { connection: "local" }, codec: { name: "none" } }, { isKnown: () => false }) as AsyncGenerator<SourceEvent>) {
      if (ev.kind === "chunk") chunks.set(ev.id, ev.data);
      else if (ev.kind === "warning") warnings.push(ev.message);
      else if (ev.entry.type === "file") files.push(ev.entry);
    }
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(warnings.join("\n"), /database "line\\nbreak" was not backed up: its name holds a line break/);
    assert.match(warnings.join("\n"), /database "--file=\/tmp\/x" was not backed up: its name starts with "-"/);
    const dumpEntry = files.find((e) => e.path === "postgres/all-databases.sql")!;
    const dump = Buffer.concat(dumpEntry.chunks!.map((c) => chunks.get(c.id)!)).toString("utf8");
    for (const meta of ["\\restrict ", "\\unrestrict ", "\\connect ", "\\connect -reuse-previous=on", "\\."]) assert.ok(dump.includes(`\n${meta}`), `pg_dumpall wrote no ${meta}`);
    t.diagnostic(`pg_dumpall: ${dump.length} bytes, ${dump.split("\n\\connect ").length - 1} \\connect lines`);

    for (const n of [...names, "line\nbreak", "--file=/tmp/x"]) q(`DROP DATABASE "${n.replace(/"/g, '""')}"`);
    const { name, db } = connection;
    const conn = await openConnection(name, db);
    const sink = new DbRestoreSink(restoreTarget("postgres", conn, name, db.maintenanceDatabase), { kind: "postgres", connection: name, overwrite: false });
    try {
      for (const e of files) {
        await sink.entry(e);
        for (const c of e.chunks ?? []) await sink.chunk(c.id, chunks.get(c.id)!);
      }
      await sink.finish();
    } finally {
      await conn.dispose();
    }
    assert.equal(fingerprint(), before);
  } finally {
    cluster.stop();
  }
});
