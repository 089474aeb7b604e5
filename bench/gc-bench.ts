/**
 * What reclaiming space costs on a large store: 30 snapshots of a tree of SIZE GiB (random data, so
 * nothing compresses) where each snapshot also holds a 64 MiB file no other snapshot shares. Then
 * the oldest snapshot is pruned (keep-last 29) and its space reclaimed. Pullback's incremental GC is
 * timed next to its own full mark-and-sweep and next to restic (forget + prune) and borg (prune +
 * compact) doing the same on the same data in the same run.
 *
 *   npm run bench:gc -- [--size GIB] [--files N] [--snapshots N] [--only pullback,restic,borg] [--keep]
 *
 * --files adds N small files (4 KiB, one chunk each) that every snapshot shares: a store with many
 * chunks, where a full mark-and-sweep has much more to walk while pruning one snapshot frees as much.
 *
 * Needs about 2.3 × SIZE GiB of free disk under bench/work (the corpus plus one repository at a time).
 */
import { createCipheriv } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createCatalogDb } from "./lib/catalog-db.js";
import { ensureBinary } from "./lib/ensure.js";
import { masterCommand, masterRun, type MasterEnv } from "./lib/master-cli.js";
import { runMeasured, type Command } from "./lib/measure.js";
import { markdownTable, mib } from "./lib/table.js";

const BASE_FILE = 256 * 1024 * 1024;
const DAILY_FILE = 64 * 1024 * 1024;

const log = (m: string): void => void process.stderr.write(`[gc-bench] ${m}\n`);

/** Deterministic incompressible bytes: AES-CTR over zeros, keyed by `seed`, fast enough for GiBs. */
function writeRandomFile(path: string, bytes: number, seed: string): void {
  const key = Buffer.alloc(16);
  key.write(seed.padEnd(16, "."), "latin1");
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(8 * 1024 * 1024);
  const fd = openSync(path, "w");
  try {
    for (let done = 0; done < bytes; done += zeros.length) {
      writeSync(fd, cipher.update(zeros.subarray(0, Math.min(zeros.length, bytes - done))));
    }
  } finally {
    closeSync(fd);
  }
}

function ensureCorpus(dir: string, sizeGiB: number, smallFiles: number): void {
  const marker = join(dir, `.complete-${sizeGiB}-${smallFiles}`);
  if (existsSync(marker)) return;
  const files = Math.ceil((sizeGiB * 1024 ** 3) / BASE_FILE);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`writing a ${sizeGiB} GiB corpus (${files} files of 256 MiB) and ${smallFiles} small files…`);
  for (let i = 0; i < files; i++) writeRandomFile(join(dir, `base-${String(i).padStart(3, "0")}.bin`), BASE_FILE, `base${i}`);
  for (let i = 0; i < smallFiles; i++) {
    const sub = join(dir, "small", String(Math.floor(i / 1000)));
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    writeRandomFile(join(sub, `f${i}`), 4096, `small${i}`);
  }
  writeFileSync(marker, "");
}

/** The one file that differs between snapshots: its content is a function of the round. */
function setRound(corpus: string, round: number): void {
  writeRandomFile(join(corpus, "daily.bin"), DAILY_FILE, `daily${round}`);
}

function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

interface ToolRun {
  name: string;
  /** Seconds to back up the whole tree the first time, and the median of the later rounds. */
  firstBackup: number;
  laterBackup: number;
  storeBefore: number;
  storeAfter: number;
  /** Forgetting the oldest snapshot (catalog/index work only). */
  forget: number;
  /** Reclaiming its space. */
  reclaim: number;
  reclaimRssBytes: number;
  /** Pullback only: the tool's own account of the work, without process start-up and catalog connect. */
  reclaimInternal?: number;
  /** Pullback only: the full mark-and-sweep over the same store, for comparison. */
  fullSweep?: number;
  fullSweepInternal?: number;
  fullSweepRssBytes?: number;
  error?: string;
}

interface Tool {
  name: string;
  needs?: { binary: string; deb: string };
  setup(repo: string, scratch: string): Promise<void>;
  backup(round: number): Command;
  forgetOldest(keep: number): Command;
  reclaim(): Command;
  fullSweep?(): Command;
  teardown(): Promise<void>;
}

function pullback(corpus: string): Tool {
  let master: MasterEnv | null = null;
  let drop: (() => Promise<void>) | null = null;
  const m = (): MasterEnv => {
    if (!master) throw new Error("pullback: setup did not run");
    return master;
  };
  return {
    name: "pullback",
    async setup(repo) {
      const db = await createCatalogDb();
      drop = db.drop;
      master = { home: repo, databaseUrl: db.url };
      masterRun(master, ["init"]);
      masterRun(master, ["node", "add", "bench", "--local"]);
      masterRun(master, ["source", "add", "bench", "corpus", "--path", corpus]);
    },
    backup: (round) => masterCommand(m(), ["backup", "bench", "corpus", "--level", round === 1 ? "full" : "incremental", "--json"]),
    forgetOldest: (keep) => masterCommand(m(), ["prune", "bench", "corpus", "--keep-last", String(keep), "--json"]),
    reclaim: () => masterCommand(m(), ["gc", "--grace", "0s", "--json"]),
    fullSweep: () => masterCommand(m(), ["gc", "--full", "--grace", "0s", "--json"]),
    async teardown() {
      await drop?.();
    },
  };
}

function restic(corpus: string): Tool {
  let env: Record<string, string> = {};
  let repoDir = "";
  const r = (...args: string[]): Command => ({ cmd: "restic", args: ["-q", "-r", repoDir, ...args], env });
  return {
    name: "restic",
    needs: { binary: "restic", deb: "restic" },
    async setup(repo, scratch) {
      repoDir = repo;
      env = { RESTIC_PASSWORD: "bench-only-not-a-secret", RESTIC_CACHE_DIR: join(scratch, "restic-cache") };
      await runMeasured(r("init", "--repository-version", "2"));
    },
    backup: () => r("backup", corpus),
    forgetOldest: (keep) => r("forget", "--keep-last", String(keep)),
    // By default restic leaves up to 5% unused space in packs and would free nothing here: ask it to
    // free everything, as Pullback's GC does.
    reclaim: () => r("prune", "--max-unused", "0"),
    async teardown() {},
  };
}

function borg(corpus: string): Tool {
  let env: Record<string, string> = {};
  let repoDir = "";
  return {
    name: "borg lz4",
    needs: { binary: "borg", deb: "borgbackup" },
    async setup(repo, scratch) {
      repoDir = repo;
      env = { BORG_BASE_DIR: join(scratch, "borg-base"), BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: "yes" };
      await runMeasured({ cmd: "borg", args: ["init", "--encryption=none", repo], env });
    },
    backup: (round) => ({ cmd: "borg", args: ["create", "--compression", "lz4", `${repoDir}::r${round}`, basename(corpus)], cwd: dirname(corpus), env }),
    forgetOldest: (keep) => ({ cmd: "borg", args: ["prune", "--keep-last", String(keep), repoDir], env }),
    // Likewise borg compacts only segments with over 10% freed space by default.
    reclaim: () => ({ cmd: "borg", args: ["compact", "--threshold", "0", repoDir], env }),
    async teardown() {},
  };
}

/** `pullback gc --json` reports its own duration; with --full, the sweep's and the collection's. */
function ownSeconds(stdout: string, withSweep = false): number | undefined {
  try {
    const j = JSON.parse(stdout) as { seconds?: number; sweep?: { seconds?: number } | null };
    if (typeof j.seconds !== "number") return undefined;
    return withSweep ? j.seconds + (j.sweep?.seconds ?? 0) : j.seconds;
  } catch {
    return undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function runTool(tool: Tool, work: string, corpus: string, snapshots: number): Promise<ToolRun> {
  const run: ToolRun = { name: tool.name, firstBackup: 0, laterBackup: 0, storeBefore: 0, storeAfter: 0, forget: 0, reclaim: 0, reclaimRssBytes: 0 };
  const repo = join(work, `repo-${tool.name.replace(/\W+/g, "-")}`);
  const scratch = `${repo}-scratch`;
  rmSync(repo, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    if (tool.needs) {
      const missing = ensureBinary(tool.needs.binary, tool.needs.deb, log);
      if (missing) throw new Error(missing);
    }
    await tool.setup(repo, scratch);
    const later: number[] = [];
    for (let round = 1; round <= snapshots; round++) {
      setRound(corpus, round);
      const t = await runMeasured(tool.backup(round));
      if (round === 1) run.firstBackup = t.seconds;
      else later.push(t.seconds);
      log(`${tool.name}: snapshot ${round}/${snapshots} in ${t.seconds.toFixed(1)} s`);
    }
    run.laterBackup = median(later);
    run.storeBefore = duBytes(repo);
    run.forget = (await runMeasured(tool.forgetOldest(snapshots - 1))).seconds;
    const reclaim = await runMeasured(tool.reclaim());
    run.reclaim = reclaim.seconds;
    run.reclaimRssBytes = reclaim.peakRssBytes;
    run.reclaimInternal = ownSeconds(reclaim.stdout);
    run.storeAfter = duBytes(repo);
    log(`${tool.name}: forget ${run.forget.toFixed(2)} s, reclaim ${run.reclaim.toFixed(2)} s, freed ${mib(run.storeBefore - run.storeAfter)} MiB`);
    if (tool.fullSweep) {
      const sweep = await runMeasured(tool.fullSweep());
      run.fullSweep = sweep.seconds;
      run.fullSweepRssBytes = sweep.peakRssBytes;
      run.fullSweepInternal = ownSeconds(sweep.stdout, true);
      log(`${tool.name}: full mark-and-sweep ${sweep.seconds.toFixed(2)} s`);
    }
  } catch (err) {
    run.error = (err instanceof Error ? err.message : String(err)).split("\n").slice(0, 3).join(" ");
    log(`${tool.name} failed: ${run.error}`);
  } finally {
    await tool.teardown().catch(() => undefined);
    rmSync(repo, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
  return run;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: "string", default: "10" },
      files: { type: "string", default: "0" },
      snapshots: { type: "string", default: "30" },
      only: { type: "string" },
      keep: { type: "boolean" },
    },
  });
  const sizeGiB = Number(values.size);
  const smallFiles = Number(values.files);
  const snapshots = Number(values.snapshots);
  if (!(sizeGiB > 0) || !(snapshots >= 2) || !(smallFiles >= 0)) throw new Error("--size must be a positive number of GiB, --files a count, and --snapshots at least 2");
  const work = join(dirname(fileURLToPath(import.meta.url)), "..", "work", "gc");
  const corpus = join(work, "corpus");
  mkdirSync(work, { recursive: true });
  ensureCorpus(corpus, sizeGiB, smallFiles);
  const all = [pullback(corpus), restic(corpus), borg(corpus)];
  const wanted = values.only ? values.only.split(",") : null;
  const tools = all.filter((t) => !wanted || wanted.some((w) => t.name.startsWith(w)));
  const runs: ToolRun[] = [];
  for (const t of tools) runs.push(await runTool(t, work, corpus, snapshots));
  if (!values.keep) rmSync(corpus, { recursive: true, force: true });

  const mine = runs.find((r) => r.name === "pullback" && !r.error);
  const vs = (r: ToolRun): string => (mine && r !== mine && !r.error && mine.reclaim > 0 ? `${(r.reclaim / mine.reclaim).toFixed(2)}×` : "");
  const rows = runs.map((r) =>
    r.error
      ? [r.name, `failed: ${r.error}`, "", "", "", "", "", ""]
      : [
          r.name,
          `${r.firstBackup.toFixed(1)} s`,
          `${r.laterBackup.toFixed(1)} s`,
          `${mib(r.storeBefore)} MiB`,
          `${r.forget.toFixed(2)} s`,
          `${r.reclaim.toFixed(2)} s${r.reclaimInternal !== undefined ? ` (GC itself ${r.reclaimInternal.toFixed(2)} s)` : ""}, ${mib(r.reclaimRssBytes)} MiB RSS`,
          `${mib(r.storeBefore - r.storeAfter)} MiB`,
          vs(r),
        ],
  );
  if (mine?.fullSweep !== undefined) {
    rows.push(["pullback full mark-and-sweep", "", "", "", "", `${mine.fullSweep.toFixed(2)} s${mine.fullSweepInternal !== undefined ? ` (GC itself ${mine.fullSweepInternal.toFixed(2)} s)` : ""}, ${mib(mine.fullSweepRssBytes ?? 0)} MiB RSS`, "", ""]);
  }
  console.log(`\nGC after pruning 1 of ${snapshots} snapshots: ${sizeGiB} GiB of random data${smallFiles ? ` and ${smallFiles} small files` : ""}, a 64 MiB file unique to each snapshot\n`);
  console.log(markdownTable(["tool", "first backup", "later backup (median)", "store", "forget", "reclaim", "freed", "pullback faster by"], rows));
  if (mine?.fullSweepInternal !== undefined && mine.reclaimInternal) {
    console.log(`\nincremental GC vs full mark-and-sweep on the same store, GC work alone: ${(mine.fullSweepInternal / mine.reclaimInternal).toFixed(1)}× faster`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
