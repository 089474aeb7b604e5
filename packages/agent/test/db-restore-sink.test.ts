/**
 * The restore sink puts chunks that arrive out of order (as the master sends them, several reads in
 * flight) back in order before the client tool sees a byte, and refuses input that is not a dump.
 * Runs against the real PostgreSQL of this machine.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chunkId, type Entry } from "@pullback/common";
import { agentConfigSchema } from "../src/config/agent-config.js";
import { openConnection } from "../src/sources/db-connection.js";
import { databaseFileName, encodeLayout, LAYOUT_FORMAT } from "../src/sources/db-layout.js";
import { DbRestoreSink } from "../src/restore/db-restore-sink.js";
import { restoreTarget } from "../src/restore/db-restore-target.js";

const db = `pbt_${randomBytes(4).toString("hex")}_order`;
const pg = (sql: string, database = "postgres") =>
  execFileSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", database], { input: sql, encoding: "utf8" });

function fileEntry(path: string, pieces: Buffer[]): Entry {
  let off = 0;
  const chunks = pieces.map((p) => {
    const c = { id: chunkId(p), off, len: p.length };
    off += p.length;
    return c;
  });
  return { path, type: "file", mode: 0o600, uid: 0, gid: 0, mtimeNs: "1", atimeNs: "1", ctimeNs: "1", size: off, ino: 0, dev: 0, chunks };
}

async function sink(overwrite = false) {
  const cfg = agentConfigSchema.parse({
    listen: "127.0.0.1:1",
    node: "n1",
    backup: { allow: ["/nonexistent"] },
    databases: { local: { type: "postgres", host: "127.0.0.1", port: 5432, user: "postgres", allowRestore: true } },
  });
  const conn = await openConnection("local", cfg.databases.local!);
  return new DbRestoreSink(restoreTarget("postgres", conn, "local", "postgres"), { kind: "postgres", connection: "local", overwrite });
}

test("chunks arriving in reverse order are replayed in dump order; repeated chunks fill each of their places", async () => {
  try {
    pg("SELECT 1");
  } catch (err) {
    throw new Error(`PostgreSQL on 127.0.0.1:5432 (user postgres, trust) is needed: install postgresql and start it, or run scripts/test-env.sh (${(err as Error).message.split("\n")[0]})`);
  }
  const path = `postgres/${databaseFileName(db, "sql")}`;
  const layout = encodeLayout({ format: LAYOUT_FORMAT, kind: "postgres", databases: [db], files: [{ path, format: "sql", database: db }], tool: "test" });
  const row = Buffer.from("INSERT INTO t VALUES ('same chunk, several places');\n");
  // Pieces cut mid-statement on purpose: only the right order makes valid SQL.
  const pieces = [Buffer.from(`CREATE DATABASE "${db}";\n\\connect "${db}"\nCREATE TAB`), Buffer.from("LE t (v text);\n"), row, row, Buffer.from("INSERT INTO t VALUES ('ünï');\n")];
  const s = await sink();
  await s.entry({ ...fileEntry("postgres", []), type: "dir", size: 0, chunks: [] });
  await s.entry(fileEntry("postgres/databases.json", [layout]));
  const dump = fileEntry(path, pieces);
  await s.entry(dump);
  await s.chunk(chunkId(layout), layout);
  for (const p of [...pieces].reverse()) await s.chunk(chunkId(p), p);
  const r = await s.finish();
  assert.equal(r.bytesWritten, dump.size);
  assert.equal(pg("SELECT string_agg(v, '|' ORDER BY v) FROM t", db).trim(), "same chunk, several places|same chunk, several places|ünï");
});

test("a restore that ends early, or that is not a dump snapshot, is refused with the reason", async () => {
  const s = await sink(true);
  await assert.rejects(s.entry(fileEntry("etc/passwd", [Buffer.from("root")])), /does not start with postgres\/databases\.json: it is not a postgres dump snapshot/);
  const s2 = await sink(true);
  const layout = encodeLayout({ format: LAYOUT_FORMAT, kind: "postgres", databases: [], files: [], tool: "" });
  await s2.entry(fileEntry("postgres/databases.json", [layout]));
  await assert.rejects(s2.finish(), /ended before all chunks of postgres\/databases\.json arrived/);
  await assert.rejects(s2.chunk("0".repeat(64), Buffer.from("x")), /was not announced/);
});

after(() => {
  try {
    pg(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  } catch {
    // no server: the test failed saying so
  }
});
