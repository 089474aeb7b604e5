/**
 * The psql script splitter on real pg_dump output: wherever the chunk boundaries fall, it finds the
 * same database switches and passes every other byte on unchanged; and it follows only the
 * `\connect` forms pg_dump writes, never one that names a host or other connection settings.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connectTarget, PsqlScriptSplitter, type ScriptPiece } from "../src/restore/db-restore-psql-script.js";

const db = `pbs${randomBytes(4).toString("hex")} it's "odd" \\ Ünï`;
const run = (args: string[], input?: Buffer) => execFileSync(args[0]!, args.slice(1), { input, encoding: "buffer", stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 << 20 });
const quoted = `"${db.replace(/"/g, '""')}"`;

/** Pieces with adjacent SQL merged: chunking changes where SQL is cut, never what it is. */
function normalise(pieces: ScriptPiece[]): Array<{ kind: string; value: string }> {
  const out: Array<{ kind: string; value: string }> = [];
  for (const p of pieces) {
    const value = p.kind === "sql" ? p.data.toString("latin1") : p.kind === "connect" ? p.database : p.name;
    const last = out[out.length - 1];
    if (p.kind === "sql" && last?.kind === "sql") last.value += value;
    else out.push({ kind: p.kind, value });
  }
  return out;
}

function split(dump: Buffer, size: number): Array<{ kind: string; value: string }> {
  const s = new PsqlScriptSplitter();
  const pieces: ScriptPiece[] = [];
  for (let off = 0; off < dump.length; off += size) pieces.push(...s.push(dump.subarray(off, off + size)));
  pieces.push(...s.end());
  return normalise(pieces);
}

test("real pg_dump --create output: the same switches and bytes whatever the chunk size", () => {
  const psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres"];
  run([...psql, "-d", "postgres"], Buffer.from(`CREATE DATABASE ${quoted};`));
  run([...psql, "-d", db], Buffer.from(`CREATE TABLE t (v text); INSERT INTO t SELECT '\\N \\. ' || g FROM generate_series(1, 5000) g; INSERT INTO t VALUES (NULL);`));
  const dump = run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--create", "-d", `dbname='${db.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`]);

  const whole = split(dump, dump.length);
  assert.deepEqual(whole.filter((p) => p.kind === "connect"), [{ kind: "connect", value: db }]);
  // Everything but pg_dump's own \restrict/\unrestrict pairs, \encoding and \connect passes on.
  const kept = whole.filter((p) => p.kind === "sql").map((p) => p.value).join("");
  const expected = dump
    .toString("latin1")
    .split("\n")
    .filter((l) => !/^\\(un)?restrict |^\\connect |^\\encoding /.test(l))
    .join("\n");
  assert.equal(kept, expected);
  for (const size of [1, 2, 7, 61, 4096]) assert.deepEqual(split(dump, size), whole, `chunks of ${size} bytes`);
});

test("only pg_dump's own \\connect forms are followed; one with a host or other settings is not", () => {
  assert.equal(connectTarget("\\connect shop"), "shop");
  assert.equal(connectTarget('\\connect "Shop ""x"""'), 'Shop "x"');
  assert.equal(connectTarget(`\\connect -reuse-previous=on "dbname='it\\'s ""q"" \\\\ z'"`), `it's "q" \\ z`);
  for (const hostile of [
    "\\connect shop 127.0.0.2",
    "\\connect shop postgres 127.0.0.2 5432",
    '\\connect -reuse-previous=on "dbname=shop host=127.0.0.2"',
    `\\connect -reuse-previous=on "dbname='shop' sslmode=disable"`,
    '\\connect -reuse-previous=off "dbname=shop"',
    "\\connect postgresql://127.0.0.2/shop",
    "\\c shop",
  ]) {
    assert.equal(connectTarget(hostile), undefined, hostile);
  }
  // psql would read a quoted name holding "=" as connection settings; the restore hands it to libpq
  // in PGDATABASE, which takes it as a database name, so it names a database that does not exist.
  assert.equal(connectTarget('\\connect "host=127.0.0.2 dbname=shop"'), "host=127.0.0.2 dbname=shop");
  const r = spawnSync("psql", ["-X", "-h", "127.0.0.1", "-U", "postgres", "-c", "SELECT 1"], { env: { ...process.env, PGDATABASE: "host=127.0.0.2 dbname=postgres" }, encoding: "utf8" });
  assert.match(r.stderr, /database "host=127\.0\.0\.2 dbname=postgres" does not exist/);
});

after(() => {
  try {
    run(["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", `DROP DATABASE IF EXISTS ${quoted}`]);
  } catch {
    // no server: the test failed saying so
  }
});
