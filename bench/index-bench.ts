/**
 * Chunk index candidates side by side: for N random 32-byte ids, each candidate's build time, the
 * memory it adds, its lookup rate for present and absent ids (random order, in batches as a backup
 * asks), and its size on disk. Every candidate runs in a child process of its own. Never pass/fail.
 *
 *   npm run bench:index -- [--chunks 1000000,10000000] [--only chunk-files,hex-set,sorted-buffer,lmdb,postgres,
 *                          postgres-prefix]
 *                          [--lookups 200000] [--batch 1000] [--bloom-bits 10] [--max-files 1000000]
 *
 * chunk-files makes one empty file per id in a chunk-store tree, so it runs only up to --max-files
 * ids (10 M files take minutes to create and remove, and inodes the disk may not have).
 *
 * postgres uses a throwaway database on the test server (PULLBACK_TEST_PG_URL, default 127.0.0.1:5432).
 * Memory columns are deltas over the process with the ids already generated, after a GC: rss (what the
 * OS sees, including LMDB's mapped file pages), rss again after the lookups, heap (JS objects), ext
 * (Buffers and other off-heap memory). LMDB is closed and reopened after building, as a restart would.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CANDIDATES, measureCandidate, type CandidateName, type IndexRow, type MeasureOptions } from "./lib/index-measure.js";
import { markdownTable, mib } from "./lib/table.js";

const log = (m: string): void => void process.stderr.write(`[index-bench] ${m}\n`);

const { values } = parseArgs({
  options: {
    chunks: { type: "string", default: "1000000,10000000" },
    only: { type: "string", default: CANDIDATES.join(",") },
    lookups: { type: "string", default: "200000" },
    batch: { type: "string", default: "1000" },
    "bloom-bits": { type: "string", default: "10" },
    "max-files": { type: "string", default: "1000000" },
    child: { type: "string" },
    n: { type: "string" },
  },
});

function options(n: number): MeasureOptions {
  return { n, lookups: Number(values.lookups), batch: Number(values.batch), bloomBitsPerId: Number(values["bloom-bits"]) };
}

/** Runs one candidate in a child; its rows come back as JSON on stdout. */
function runChild(name: CandidateName, n: number): Promise<IndexRow[]> {
  const args = ["--expose-gc", "--max-old-space-size=16384", fileURLToPath(import.meta.url), "--child", name, "--n", String(n)];
  for (const k of ["lookups", "batch", "bloom-bits"] as const) args.push(`--${k}`, String(values[k]));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as IndexRow[]) : reject(new Error(`${name} at N=${n} exited with ${code}`))));
  });
}

const rate = (r: number): string => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : `${(r / 1e3).toFixed(0)} k/s`);

function row(r: IndexRow): string[] {
  return [
    r.candidate,
    `${r.n / 1e6} M`,
    r.buildSeconds.toFixed(1),
    mib(r.rssBytes),
    mib(r.rssAfterLookupsBytes),
    mib(r.heapBytes),
    mib(r.externalBytes),
    rate(r.hitsPerSecond),
    rate(r.missesPerSecond),
    r.diskBytes === undefined ? "-" : mib(r.diskBytes),
    r.falsePositiveRate === undefined ? "-" : `${(r.falsePositiveRate * 100).toFixed(2)} %`,
  ];
}

async function main(): Promise<void> {
  if (values.child) {
    const rows = await measureCandidate(values.child as CandidateName, options(Number(values.n)));
    process.stdout.write(JSON.stringify(rows));
    return;
  }
  const only = values.only.split(",").filter((c): c is CandidateName => (CANDIDATES as readonly string[]).includes(c));
  const rows: IndexRow[] = [];
  for (const n of values.chunks.split(",").map(Number)) {
    for (const name of only) {
      if (name === "chunk-files" && n > Number(values["max-files"])) {
        log(`chunk-files skipped at N = ${n}: more than --max-files ${values["max-files"]} files to create`);
        continue;
      }
      const t0 = performance.now();
      log(`${name}, N = ${n}…`);
      rows.push(...(await runChild(name, n)));
      log(`${name}, N = ${n}: ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
    }
  }
  const header = ["candidate", "N", "build s", "rss MiB", "rss after lookups", "heap MiB", "ext MiB", "hits", "misses", "disk MiB", "filter FP"];
  console.log(markdownTable(header, rows.map(row)));
  console.log(`\nlookups: ${values.lookups} hits and as many misses, ${values.batch} ids a batch; memory is the delta after building, after a GC.`);
}

await main();
