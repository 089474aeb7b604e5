/**
 * Database dump benchmark: Pullback (real master, real agent over mTLS gRPC on loopback) against the
 * plain `mysqldump | zstd -3 > file` and `pg_dump | zstd -3 > file` pipelines, on throwaway MariaDB and
 * PostgreSQL databases created for the run, in the same run:
 *   1. throughput of a first (full) backup against the pipeline, in MB/s of plain dump bytes;
 *   2. seven daily dumps with 1% of rows updated and 1% added per day (clustered at the recent end,
 *      and scattered; each series in its own fresh master home, store and agent): new and stored
 *      bytes per day, and the store against the seven .zst files a naive rotation keeps.
 *
 *   npm run bench:db -- [--small] [--mb N] [--only mariadb,postgres] [--days 7] [--profile] [--keep] [--json]
 *
 * Servers: PULLBACK_BENCH_MY_HOST/_PORT/_USER and PULLBACK_BENCH_PGHOST/_PGPORT/_PGUSER (default: the
 * local test servers). The catalog is a throwaway database on the same PostgreSQL server.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SnapshotRecord } from "@pullback/common";
import { renderProfile, summarizeProfile, type ProfileSummary } from "./db-profile.js";
import { onCleanup, Rig, runCleanup, type StoreSize } from "./db-rig.js";
import { daySql, insertSql, myArgs, pgArgs, plannedRows, runSql, schemaSql, TABLES, type ChangePattern, type Engine, type Table } from "./db-sql.js";

const MB = 1e6;
const log = (m: string): void => void process.stderr.write(`[db-bench] ${m}\n`);

interface Timed {
  seconds: number;
  bytes: number;
}

interface DayResult {
  day: number;
  change: string;
  dumpBytes: number;
  bytesNew: number;
  bytesStored: number;
  bytesSent: number;
  chunksNew: number;
  chunksTotal: number;
  backupSeconds: number;
  jobSeconds: number;
  zstdBytes: number;
  zstdSeconds: number;
}

interface VariantResult {
  pattern: ChangePattern;
  days: DayResult[];
  store: StoreSize;
}

interface EngineResult {
  engine: Engine;
  database: string;
  rows: Record<Table, number>;
  throughput: {
    dumpOnly: Timed;
    pipeline: (Timed & { zstdBytes: number })[];
    pullback: { seconds: number; jobSeconds: number; bytesTotal: number; bytesStored: number; bytesSent: number }[];
  };
  variants: VariantResult[];
  profile?: ProfileSummary;
}

const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

function dumpCommand(engine: Engine, db: string): string {
  // The same options the agent uses (packages/agent/src/sources/db-mysql.ts, db-postgres.ts).
  const argv =
    engine === "mariadb"
      ? ["mysqldump", ...myArgs(), "--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", "--default-character-set=utf8mb4", "--skip-dump-date", "--databases", db]
      : ["pg_dump", ...pgArgs(), "--create", "--format=plain", db];
  return argv.map(q).join(" ");
}

/** A shell pipeline, timed; resolves to its stdout. */
function shell(cmd: string): Promise<{ seconds: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn("bash", ["-o", "pipefail", "-c", cmd], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve({ seconds: (performance.now() - t0) / 1000, stdout: out.trim() }) : reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`))));
  });
}

async function dumpOnly(engine: Engine, db: string): Promise<Timed> {
  const r = await shell(`${dumpCommand(engine, db)} | wc -c`);
  return { seconds: r.seconds, bytes: Number(r.stdout) };
}

async function pipeline(engine: Engine, db: string, file: string): Promise<Timed & { zstdBytes: number }> {
  const r = await shell(`${dumpCommand(engine, db)} | tee >(wc -c > ${q(file + ".len")}) | zstd -3 -q > ${q(file)}; wait; cat ${q(file + ".len")}`);
  const zstdBytes = statSync(file).size;
  rmSync(file, { force: true });
  rmSync(file + ".len", { force: true });
  return { seconds: r.seconds, bytes: Number(r.stdout), zstdBytes };
}

function ensureTools(engines: Engine[]): void {
  const need: [string, string][] = [["zstd", "zstd"]];
  if (engines.includes("mariadb")) need.push(["mariadb", "mariadb-client"], ["mysqldump", "mariadb-client"]);
  if (engines.includes("postgres")) need.push(["psql", "postgresql-client"], ["pg_dump", "postgresql-client"]);
  let updated = false;
  for (const [bin, deb] of need) {
    if (spawnSync("which", [bin], { stdio: "ignore" }).status === 0) continue;
    log(`${bin} not found: installing Debian package ${deb}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    if (!updated) spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    updated = true;
    spawnSync("apt-get", ["install", "-y", "-qq", deb], { stdio: "inherit", env });
    if (spawnSync("which", [bin], { stdio: "ignore" }).status !== 0) throw new Error(`${bin} is missing and "apt-get install ${deb}" failed`);
  }
}

async function createDatabase(engine: Engine, name: string, rows: Record<Table, number>): Promise<void> {
  if (engine === "mariadb") {
    await runSql(engine, `CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    onCleanup(`database ${name}`, () => runSql(engine, `DROP DATABASE IF EXISTS ${name}`).then(() => undefined));
  } else {
    await runSql(engine, `CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`);
    onCleanup(`database ${name}`, () => runSql(engine, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined));
  }
  await runSql(engine, schemaSql(engine), name);
  for (const t of TABLES) {
    // Batches of 50k rows keep each transaction modest on a small server.
    for (let lo = 1; lo <= rows[t]; lo += 50_000) await runSql(engine, insertSql(engine, t, lo, Math.min(rows[t], lo + 49_999), rows), name);
  }
  await runSql(engine, engine === "mariadb" ? `ANALYZE TABLE ${TABLES.join(", ")}` : "VACUUM ANALYZE", name);
}

interface BackupOutcome {
  snap: SnapshotRecord;
  seconds: number;
}

async function backup(rig: Rig, source: string, level: string, nodeFlags: string[] = []): Promise<BackupOutcome> {
  const r = await rig.run(["backup", "db1", source, "--level", level, "--json"], nodeFlags);
  if (r.code !== 0) throw new Error(`pullback backup db1 ${source} exited ${r.code}: ${r.stderr.slice(-3000)}`);
  const snap = (JSON.parse(r.stdout) as { snapshot: SnapshotRecord }).snapshot;
  return { snap, seconds: r.seconds };
}

const jobSeconds = (s: SnapshotRecord): number => (Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000;

function dayResult(day: number, change: string, b: BackupOutcome, z: Timed & { zstdBytes: number }): DayResult {
  const s = b.snap.stats;
  return {
    day,
    change,
    dumpBytes: s.bytesTotal,
    bytesNew: s.bytesNew,
    bytesStored: s.bytesStored,
    bytesSent: s.bytesSent,
    chunksNew: s.chunksNew,
    chunksTotal: s.chunksTotal,
    backupSeconds: b.seconds,
    jobSeconds: jobSeconds(b.snap),
    zstdBytes: z.zstdBytes,
    zstdSeconds: z.seconds,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const mb = (b: number): string => (b / MB >= 10 ? f1(b / MB) : f2(b / MB));
const pct = (x: number): string => `${(100 * x).toFixed(x < 0.1 ? 2 : 1)}%`;

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

function render(results: EngineResult[], profiled: boolean): string {
  const out: string[] = [];
  out.push("MB = 10^6 bytes; MB/s are plain dump bytes per wall-clock second; everything warm (databases in their buffer pools).");
  out.push("pullback = `pullback backup` CLI wall time (process start, catalog, mTLS session, job); job = the snapshot's own startedAt..finishedAt.\n");
  out.push("1. Throughput, first (full) backup");
  const rows: string[][] = [];
  for (const r of results) {
    const t = r.throughput;
    const pipe = t.pipeline.reduce((a, b) => a + b.seconds, 0) / t.pipeline.length;
    const dumpBytes = t.dumpOnly.bytes;
    rows.push([r.engine, "dump | wc -c (tool alone)", mb(dumpBytes), f2(t.dumpOnly.seconds), f1(dumpBytes / MB / t.dumpOnly.seconds), "", ""]);
    for (const [i, p] of t.pipeline.entries())
      rows.push([r.engine, `dump | zstd -3 > file (run ${i + 1})`, mb(p.bytes), f2(p.seconds), f1(p.bytes / MB / p.seconds), mb(p.zstdBytes), ""]);
    for (const [i, p] of t.pullback.entries()) {
      const label = `pullback backup (empty store ${i + 1}${i === 1 && profiled ? ", profiled" : ""})`;
      rows.push([r.engine, label, mb(p.bytesTotal), f2(p.seconds), f1(p.bytesTotal / MB / p.seconds), mb(p.bytesStored), `${f2(pipe / p.seconds)}×`]);
      rows.push([r.engine, "  of which the job", mb(p.bytesTotal), f2(p.jobSeconds), f1(p.bytesTotal / MB / p.jobSeconds), "", `${f2(pipe / p.jobSeconds)}×`]);
    }
  }
  out.push(table(["engine", "method", "dump MB", "seconds", "MB/s", "kept MB", "speed vs zstd pipe"], rows));
  out.push('"kept MB" = the .zst file, or what Pullback stored (compressed chunks); "speed vs zstd pipe" = pipeline mean time / this time (<1: slower).\n');

  out.push("2. Seven daily dumps, 1% of rows updated + 1% new rows per day (day 1 = first full dump)");
  const summary: string[][] = [];
  for (const r of results) {
    for (const v of r.variants) {
      out.push(`\n${r.engine}, ${v.pattern === "recent" ? "updates clustered at the recent end (every other row of the newest 2%)" : "updates scattered (pseudo-random 1% of each table)"}:`);
      let cumStored = 0;
      let cumZstd = 0;
      const dr: string[][] = [];
      for (const d of v.days) {
        cumStored += d.bytesStored;
        cumZstd += d.zstdBytes;
        dr.push([String(d.day), d.change, mb(d.dumpBytes), mb(d.bytesNew), pct(d.bytesNew / d.dumpBytes), mb(d.bytesStored), mb(d.zstdBytes), mb(cumStored), mb(cumZstd), f2(cumZstd / cumStored), f1(d.jobSeconds)]);
      }
      out.push(table(["day", "change", "dump MB", "new MB", "new %", "stored MB", ".zst MB", "Σ stored", "Σ .zst", ".zst/stored", "job s"], dr));
      const last = v.days[v.days.length - 1]!;
      const naive7 = v.days.length * last.zstdBytes;
      summary.push([
        r.engine,
        v.pattern,
        mb(cumStored),
        mb(v.store.allocated),
        `${v.store.files} / ${v.store.dirs}`,
        mb(v.store.dirAllocated),
        mb(cumZstd),
        mb(naive7),
        f2(cumZstd / cumStored),
        f2(cumZstd / v.store.allocated),
        pct(v.days.slice(1).reduce((a, d) => a + d.bytesStored, 0) / (v.days.length - 1) / last.zstdBytes),
      ]);
    }
  }
  out.push(`\nStore after ${results[0]?.variants[0]?.days.length ?? 7} daily dumps vs a naive rotation of dump | zstd -3 files:`);
  out.push(table(["engine", "change", "Σ stored MB", "files on disk MB", "files / dirs", "dirs MB", "Σ .zst MB", "N × last .zst", ".zst / stored", ".zst / on disk", "daily stored / .zst"], summary));
  out.push("Σ stored = sum of the snapshots' bytesStored (compressed new chunks); files on disk = allocated blocks of the store's files (chunks, records); dirs MB = its directories' blocks (catalog excluded);");
  out.push("daily stored / .zst = mean stored bytes of days 2.. relative to one compressed dump file.");
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      small: { type: "boolean", default: false },
      mb: { type: "string" },
      only: { type: "string" },
      days: { type: "string", default: "7" },
      profile: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const targetMb = Number(values.mb ?? (values.small ? 20 : 100));
  const days = Number(values.days);
  if (!(targetMb > 0) || !(days >= 2)) throw new Error("--mb must be positive and --days at least 2");
  const engines = (values.only?.split(",").map((s) => s.trim()) ?? ["mariadb", "postgres"]) as Engine[];
  for (const e of engines) if (e !== "mariadb" && e !== "postgres") throw new Error(`--only: unknown engine ${e}`);
  ensureTools(engines);

  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      void runCleanup(log).finally(() => process.exit(130));
    });

  const work = mkdtempSync(join(tmpdir(), "pullback-dbbench-"));
  if (!values.keep) onCleanup("work directory", () => rmSync(work, { recursive: true, force: true }));
  const tag = randomBytes(4).toString("hex");
  const planned = plannedRows(targetMb);
  const results: EngineResult[] = [];
  const sourceName = (e: Engine, p: ChangePattern): string => `${e === "mariadb" ? "my" : "pg"}-${p}`;

  for (const engine of engines) {
    const database = `pbbench_${engine === "mariadb" ? "my" : "pg"}_${tag}`;
    const t0 = performance.now();
    log(`${engine}: creating ${database} (${Object.entries(planned).map(([t, n]) => `${t} ${n}`).join(", ")} rows)…`);
    await createDatabase(engine, database, planned);
    log(`${engine}: filled in ${f1((performance.now() - t0) / 1000)} s`);
    results.push({ engine, database, rows: { ...planned }, throughput: { dumpOnly: { seconds: 0, bytes: 0 }, pipeline: [], pullback: [] }, variants: [] });
  }

  const profDir = join(work, "profiles");
  const prof = (name: string): string[] => (values.profile ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  if (values.profile) mkdirSync(profDir, { recursive: true });

  const patterns: ChangePattern[] = ["recent", "scattered"];
  for (const r of results) {
    const { engine, database } = r;
    for (const [pi, pattern] of patterns.entries()) {
      // One master home, catalog, store and agent per engine and change pattern: every store starts
      // empty, so day 1 is a true full and the store on disk belongs to this series alone.
      log(`${engine}/${pattern}: starting a master home and an agent…`);
      const rig = await Rig.create(join(work, `${engine}-${pattern}`), `${engine.slice(0, 2)}_${pattern}`, pi === 1 ? prof(`agent-${engine}`) : []);
      const src = sourceName(engine, pattern);
      rig.ok(["source", "add", "db1", src, "--type", engine === "mariadb" ? "mysql" : "postgres", "--connection", engine === "mariadb" ? "maria" : "pg", "--databases", database, ...(engine === "postgres" ? ["--no-globals"] : [])]);
      const zfile = join(work, `${src}.sql.zst`);
      // Day 1: the full dump, which is also the throughput measurement.
      if (pi === 0) {
        await dumpOnly(engine, database); // warm-up: server caches, page cache of the tools
        r.throughput.dumpOnly = await dumpOnly(engine, database);
        r.throughput.pipeline.push(await pipeline(engine, database, zfile));
      }
      log(`${engine}/${pattern}: day 1 full backup…`);
      // --profile: the second series' full, so the first throughput figure stays unprofiled.
      const first = await backup(rig, src, "full", pi === 1 ? prof(`master-${engine}-full`) : []);
      const z1 = await pipeline(engine, database, zfile);
      if (pi === 0) r.throughput.pipeline.push(z1);
      const s = first.snap.stats;
      r.throughput.pullback.push({ seconds: first.seconds, jobSeconds: jobSeconds(first.snap), bytesTotal: s.bytesTotal, bytesStored: s.bytesStored, bytesSent: s.bytesSent });
      log(`${engine}/${pattern}: day 1: dump ${mb(s.bytesTotal)} MB in ${f2(first.seconds)} s (job ${f2(jobSeconds(first.snap))} s), stored ${mb(s.bytesStored)} MB; pipeline ${f2(z1.seconds)} s, .zst ${mb(z1.zstdBytes)} MB`);
      const variant: VariantResult = { pattern, days: [dayResult(1, "full", first, z1)], store: { apparent: 0, allocated: 0, files: 0, dirs: 0, dirAllocated: 0 } };
      for (let day = 2; day <= days; day++) {
        const before = { ...r.rows };
        await runSql(engine, daySql(engine, pattern, day + pi * 100, r.rows, planned), database);
        const added = TABLES.reduce((a, t) => a + r.rows[t] - before[t], 0);
        const z = await pipeline(engine, database, zfile);
        const b = await backup(rig, src, "incremental");
        variant.days.push(dayResult(day, `~${added} upd + ${added} new`, b, z));
        log(`${engine}/${pattern}: day ${day}: dump ${mb(b.snap.stats.bytesTotal)} MB, new ${mb(b.snap.stats.bytesNew)} MB, stored ${mb(b.snap.stats.bytesStored)} MB, .zst ${mb(z.zstdBytes)} MB`);
      }
      variant.store = rig.storeSize();
      r.variants.push(variant);
      await rig.stopAgent();
    }
  }

  if (values.profile) {
    for (const f of readdirSync(profDir)) {
      const s = summarizeProfile(join(profDir, f));
      const r = results.find((x) => f.startsWith(`master-${x.engine}-`));
      if (r) r.profile = s;
      if (!values.json) process.stdout.write(`\n${renderProfile(f, s)}\n`);
    }
  }

  if (values.json) {
    process.stdout.write(JSON.stringify({ targetMb, days, results }, null, 2) + "\n");
  } else {
    process.stdout.write(`\n${render(results, values.profile === true)}\n`);
  }
}

let failed = false;
main()
  .catch((err: unknown) => {
    failed = true;
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  })
  .finally(async () => {
    await runCleanup(log);
    process.exit(failed ? 1 : 0);
  });
