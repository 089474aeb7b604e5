/**
 * A compromised node hands the operator a poisoned "pg_dumpall" snapshot; the operator restores it
 * into another node's PostgreSQL through that node's real agent. The dump's psql meta-commands
 * (`\!`, `\o`, `\copy … to program`, a guessed `\unrestrict`) would run as the agent's user (root):
 * the attack the restore must turn into a refused, harmless replay.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SnapshotRecord } from "@pullback/common";
import { Testbed } from "./support/testbed.js";
import { requireTool } from "./support/tools.js";
import { ref, startHostileAgent, type HostileAgent } from "./support/hostile-agent.js";

const tag = randomBytes(4).toString("hex");
const DB = `pb_evil_${tag}`;
const trap = mkdtempSync(join(tmpdir(), "pb-trap-"));

function pg(sql: string): string {
  const r = spawnSync("psql", ["-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

let tb: Testbed;
let evil: HostileAgent;

before(async () => {
  requireTool("psql", "postgresql-client");
  tb = await Testbed.create();
  evil = await startHostileAgent(tb, "evil");
  tb.ok(["source", "add", "evil", "pg", "--type", "postgres", "--connection", "main"]);
  await tb.addAgent(
    "victim",
    ["/nonexistent-fs-root"],
    [],
    `databases:
  main:
    type: postgres
    host: 127.0.0.1
    port: 5432
    user: postgres
    allowRestore: true
`,
  );
});

after(async () => {
  await evil?.close();
  await tb?.destroy();
  try {
    pg(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  } catch {
    // best effort: the name carries a random tag
  }
  rmSync(trap, { recursive: true, force: true });
});

test("a poisoned pg_dumpall snapshot from a compromised node runs no command on the node it is restored into", async () => {
  const dump = Buffer.from(
    [
      `CREATE DATABASE ${DB};`,
      `\\! touch ${trap}/shell`,
      `\\unrestrict guessed-key`,
      `\\! touch ${trap}/after-unrestrict`,
      `\\o ${trap}/output`,
      `SELECT 1;`,
      `\\copy (SELECT 1) TO PROGRAM 'touch ${trap}/program'`,
      "",
    ].join("\n"),
  );
  const layout = Buffer.from(
    JSON.stringify({ format: "pullback-db-dump/1", kind: "postgres", databases: [DB], files: [{ path: "postgres/all-databases.sql", format: "sql" }], tool: "pg_dumpall (PostgreSQL) 15" }),
  );
  evil.onBackup(async (b) => {
    await b.entry({ path: ".", type: "dir", mode: 0o700 });
    await b.entry({ path: "postgres", type: "dir", mode: 0o700 });
    const l = await b.chunk(layout);
    await b.entry({ path: "postgres/databases.json", size: layout.length, chunks: [ref(l, 0, layout.length)] });
    const d = await b.chunk(dump);
    await b.entry({ path: "postgres/all-databases.sql", size: dump.length, chunks: [ref(d, 0, dump.length)] });
  });
  const backup = await tb.cliAwait(["backup", "evil", "pg", "--json"]);
  assert.equal(backup.code, 0, backup.stderr);
  const snap = (JSON.parse(backup.stdout) as { snapshot: SnapshotRecord }).snapshot;

  const r = tb.cli(["restore", snap.id, "--node", "victim", "--into-database"]);
  assert.deepEqual(readdirSync(trap), [], "a meta-command of the dump ran on the victim node");
  assert.notEqual(r.code, 0, "the altered dump must not restore as if it were fine");
  assert.match(r.stderr, /\\!|restrict|meta-command|altered/i, r.stderr);
});
