/**
 * `runAs`: a connection's client tools run as an unprivileged system user, and still get credentials
 * that only root may read. Checked on the real processes: the uid, groups and working directory of
 * each tool are read from /proc while it runs, against the real MariaDB and PostgreSQL.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Entry, SourceEvent } from "@pullback/common";
import { agentConfigSchema, type AgentConfig } from "../src/config/agent-config.js";
import { findConnection, openConnection, type DbKind } from "../src/sources/db-connection.js";
import { backupDbSource } from "../src/sources/db-source.js";
import { DbRestoreSink } from "../src/restore/db-restore-sink.js";
import { restoreTarget } from "../src/restore/db-restore-target.js";

const RUN_AS = "pullback-dbtool";
const tag = `pbr${randomBytes(4).toString("hex")}`;
const myDb = `${tag}_my`;
const myUser = `${tag}_u`;
const pgDb = `${tag}_pg`;
let work: string;
let runAsUid: number;

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}
const my = (sql: string, db?: string) => sh("mariadb", ["-h127.0.0.1", "-P3306", "-uroot", "--batch", "--skip-column-names", ...(db ? [db] : [])], sql);
const pg = (sql: string, db = "postgres") => sh("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db], sql);

function config(databases: Record<string, object>): AgentConfig {
  return { ...agentConfigSchema.parse({ listen: "127.0.0.1:1", node: "n1", backup: { allow: ["/nonexistent"] }, databases }), configDir: work, pkiDir: work };
}

interface Seen {
  tool: string;
  uid: string;
  groups: string;
  cwd: string;
}

/** What /proc says about a tool the moment it started (it is alive then: it waits on its server or its input). */
function observe(seen: Seen[]) {
  return (tool: string, pid: number) => {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(status)?.[1]?.trim() ?? "";
    seen.push({ tool, uid: field("Uid"), groups: field("Groups"), cwd: readlinkSync(`/proc/${pid}/cwd`) });
  };
}

async function backup(cfg: AgentConfig, kind: DbKind, params: Record<string, string>, seen: Seen[]) {
  const connection = findConnection(cfg, kind, params.connection);
  const chunks = new Map<string, Buffer>();
  const files: Entry[] = [];
  for await (const ev of backupDbSource({ kind, connection, params, codec: { name: "none" } }, { isKnown: () => false, onToolStart: observe(seen) }) as AsyncGenerator<SourceEvent>) {
    if (ev.kind === "chunk") chunks.set(ev.id, ev.data);
    else if (ev.kind === "entry" && ev.entry.type === "file") files.push(ev.entry);
  }
  return { chunks, files };
}

async function restore(cfg: AgentConfig, kind: DbKind, snap: { chunks: Map<string, Buffer>; files: Entry[] }, seen: Seen[]) {
  const { name, db } = findConnection(cfg, kind, "local");
  const conn = await openConnection(name, db);
  const sink = new DbRestoreSink(restoreTarget(kind, conn, name, db.maintenanceDatabase), { kind, connection: name, overwrite: false, onToolStart: observe(seen) });
  try {
    for (const e of snap.files) {
      await sink.entry(e);
      for (const c of e.chunks ?? []) await sink.chunk(c.id, snap.chunks.get(c.id)!);
    }
    await sink.finish();
  } finally {
    await conn.dispose();
  }
}

function assertRanAs(seen: Seen[], tools: string[]) {
  assert.deepEqual([...new Set(seen.map((s) => s.tool))].sort(), [...tools].sort());
  for (const s of seen) {
    // Real, effective, saved and file-system uid: all four are the runAs user's.
    assert.deepEqual(s.uid.split(/\s+/), Array(4).fill(String(runAsUid)), `${s.tool} ran with uids ${s.uid}`);
    assert.equal(s.groups, "", `${s.tool} kept the agent's supplementary groups: ${s.groups}`);
    assert.match(s.cwd, /\/pullback-db-[^/]+$/, `${s.tool} ran in ${s.cwd}, not its private directory`);
    assert.equal(existsSync(s.cwd), false, `the private directory ${s.cwd} outlived the connection`);
  }
}

before(() => {
  try {
    my("SELECT 1");
    pg("SELECT 1");
  } catch (err) {
    throw new Error(`MariaDB (127.0.0.1:3306, root) and PostgreSQL (127.0.0.1:5432, postgres, trust) are needed: start them, or run scripts/test-env.sh (${(err as Error).message.split("\n")[0]})`);
  }
  try {
    sh("id", ["-u", RUN_AS]);
  } catch {
    sh("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS]);
  }
  runAsUid = Number(sh("id", ["-u", RUN_AS]).trim());
  assert.notEqual(runAsUid, 0);
  work = mkdtempSync(join(tmpdir(), "pullback-runas-"));
  // Root's only: the tools' user must get the credentials without being able to read these.
  chmodSync(work, 0o700);
});

after(() => {
  try {
    my(`DROP DATABASE IF EXISTS \`${myDb}\`; DROP USER IF EXISTS '${myUser}'@'%';`);
    pg(`DROP DATABASE IF EXISTS "${pgDb}" WITH (FORCE)`);
  } catch {
    // no server: the test failed saying so
  }
  rmSync(work, { recursive: true, force: true });
});

test("mysql with runAs: mysqldump and mysql run as that user, with a password file only root can read, and round-trip", async () => {
  const pw = randomBytes(12).toString("base64url");
  my(`CREATE DATABASE \`${myDb}\`; CREATE USER '${myUser}'@'%' IDENTIFIED BY '${pw}'; GRANT ALL ON \`${myDb}\`.* TO '${myUser}'@'%';`);
  my(`CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t SELECT seq, REPEAT('x', seq % 100) FROM seq_1_to_5000;`, myDb);
  const passwordFile = join(work, "mysql.pw");
  writeFileSync(passwordFile, `${pw}\n`, { mode: 0o600 });
  assert.throws(() => sh("runuser", ["-u", RUN_AS, "--", "cat", passwordFile]), /Permission denied/);
  const cfg = config({ local: { type: "mysql", host: "127.0.0.1", port: 3306, user: myUser, passwordFile, runAs: RUN_AS, allowRestore: true } });

  const seen: Seen[] = [];
  const snap = await backup(cfg, "mysql", { connection: "local", databases: myDb }, seen);
  const before = my("CHECKSUM TABLE t", myDb);
  my(`DROP DATABASE \`${myDb}\``);
  await restore(cfg, "mysql", snap, seen);
  assert.equal(my("CHECKSUM TABLE t", myDb), before);
  assertRanAs(seen, ["mysqldump", "mysql"]);
});

test("postgres with runAs: pg_dump, pg_dumpall and psql run as that user, with a pass file only root can read, and round-trip", async () => {
  pg(`CREATE DATABASE "${pgDb}"`);
  pg(`CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat('y', g % 100) FROM generate_series(1, 5000) g;`, pgDb);
  const passFile = join(work, "pgpass");
  writeFileSync(passFile, "127.0.0.1:5432:*:postgres:unused-on-a-trust-server\n", { mode: 0o600 });
  const cfg = config({ local: { type: "postgres", host: "127.0.0.1", port: 5432, user: "postgres", passFile, runAs: RUN_AS, allowRestore: true } });

  const seen: Seen[] = [];
  const snap = await backup(cfg, "postgres", { connection: "local", databases: pgDb }, seen);
  const sum = () => pg("SELECT count(*) || md5(string_agg(v, ',' ORDER BY id)) FROM t", pgDb);
  const before = sum();
  pg(`DROP DATABASE "${pgDb}" WITH (FORCE)`);
  await restore(cfg, "postgres", snap, seen);
  assert.equal(sum(), before);
  assertRanAs(seen, ["pg_dumpall", "pg_dump", "psql"]);
});

test("runAs naming a user this node does not have fails before any tool runs, saying how to fix it", async () => {
  const cfg = config({ local: { type: "postgres", host: "127.0.0.1", port: 5432, user: "postgres", runAs: "no-such-user-here" } });
  await assert.rejects(backup(cfg, "postgres", { connection: "local", databases: "postgres" }, []), /connection local: runAs user "no-such-user-here" does not exist on this node; create it \(useradd --system/);
});

test("the private directory holds the tools' copy of the credentials, owned by the runAs user, mode 0600", async () => {
  const optionsFile = join(work, "root.cnf");
  writeFileSync(optionsFile, "[client]\nuser=root\n", { mode: 0o600 });
  const cfg = config({ local: { type: "mysql", host: "127.0.0.1", port: 3306, optionsFile, runAs: RUN_AS } });
  const conn = await openConnection("local", cfg.databases.local!);
  try {
    const cmd = conn.command("mysql", ["--batch"]);
    const copy = cmd.args[0]!.replace(/^--defaults-extra-file=/, "");
    assert.equal(join(cmd.cwd!, "client.cnf"), copy);
    assert.equal(readFileSync(copy, "utf8"), "[client]\nuser=root\n");
    const st = sh("stat", ["-c", "%u %a", copy, cmd.cwd!]).trim().split("\n");
    assert.deepEqual(st, [`${runAsUid} 600`, `${runAsUid} 700`]);
    assert.equal(cmd.env.HOME, cmd.cwd);
  } finally {
    await conn.dispose();
  }
});
