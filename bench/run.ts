/**
 * Side-by-side benchmark of Pullback against restic and borg on one corpus, in one run.
 *
 *   npm run bench -- [--small] [--mib N] [--only NAME,...] [--reps N] [--json]
 *                    [--incremental] [--incremental-only] [--files N]
 *   (env PULLBACK_BENCH_MIB=N is the same as --mib N)
 *
 * --reps runs every tool N times (default 2), interleaved (all tools, then all tools again), and
 * reports median (min). --incremental adds, and --incremental-only runs alone, the no-change
 * incremental of a tree of --files small files (default 100,000) with restic and Pullback over gRPC
 * (--only chooses other tools for it too).
 *
 * Everything runs warm: dropping the page cache between tools needs privileges the benchmark
 * should not ask for, so every tool reads a corpus that is already cached.
 */
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureCorpus, planCorpus } from "./lib/corpus.js";
import { ensureBinary } from "./lib/ensure.js";
import { runTool, type ToolResult } from "./lib/harness.js";
import { renderIncremental, runIncremental, type IncrementalResult } from "./lib/incremental.js";
import { TIME_BIN } from "./lib/measure.js";
import { ensureManyFiles, planManyFiles } from "./lib/many-files.js";
import { failureReason, renderProcessTable, renderTable, summarize } from "./lib/report.js";
import { mib } from "./lib/table.js";
import { TOOLS, type BackupTool } from "./lib/tools.js";
import { treeSize } from "./lib/tree.js";

const WARM_NOTE = "all runs are warm (page cache not dropped between tools: that needs privileges)";
const INCREMENTAL_DEFAULT = ["restic", "pullback grpc"];
const WORK = join(dirname(fileURLToPath(import.meta.url)), "..", "work");
const log = (m: string): void => void process.stderr.write(`${m}\n`);

interface Options {
  totalMiB: number;
  only: string[] | undefined;
  reps: number;
  files: number;
  json: boolean;
  comparison: boolean;
  incremental: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      small: { type: "boolean", default: false },
      mib: { type: "string" },
      only: { type: "string" },
      reps: { type: "string", default: "2" },
      files: { type: "string", default: "100000" },
      json: { type: "boolean", default: false },
      incremental: { type: "boolean", default: false },
      "incremental-only": { type: "boolean", default: false },
    },
  });
  const o: Options = {
    totalMiB: Number(values.mib ?? process.env.PULLBACK_BENCH_MIB ?? (values.small ? 100 : 1024)),
    only: values.only?.split(",").map((s) => s.trim()),
    reps: Number(values.reps),
    files: Number(values.files),
    json: values.json,
    comparison: !values["incremental-only"],
    incremental: values.incremental || values["incremental-only"],
  };
  if (!(o.totalMiB > 0)) throw new Error("--mib must be a positive number");
  if (!(Number.isInteger(o.reps) && o.reps >= 1)) throw new Error("--reps must be a positive integer");
  if (!(Number.isInteger(o.files) && o.files >= 1)) throw new Error("--files must be a positive integer");
  return o;
}

/** The tools asked for whose programs exist (or could be installed); the others as failures. */
function available(names: string[] | undefined): { tools: BackupTool[]; missing: ToolResult[] } {
  const tools: BackupTool[] = [];
  const missing: ToolResult[] = [];
  for (const tool of TOOLS.filter((t) => !names || names.includes(t.name))) {
    const why = tool.needs.map((n) => ensureBinary(n.binary, n.deb, log)).find((m) => m !== null);
    if (why) missing.push({ tool: tool.name, error: why });
    else tools.push(tool);
  }
  return { tools, missing };
}

async function comparison(o: Options): Promise<unknown> {
  const work = join(WORK, `${o.totalMiB}mib`);
  mkdirSync(work, { recursive: true });
  const corpus = ensureCorpus(work, planCorpus(o.totalMiB), log);
  const size = treeSize(corpus);
  log(`corpus: ${size.files} files, ${mib(size.apparent)} MiB logical, ${mib(size.allocated)} MiB allocated; ${WARM_NOTE}`);
  const { tools, missing } = available(o.only);
  const runs = new Map<string, ToolResult[]>(missing.map((m) => [m.tool, [m]]));
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const tool of tools) {
      log(`running ${tool.name} (${rep}/${o.reps})…`);
      const r = await runTool(tool, work, corpus, size);
      if (r.error) log(`  ${tool.name} failed: ${r.error.split("\n")[0] ?? ""}`);
      runs.set(tool.name, [...(runs.get(tool.name) ?? []), r]);
    }
  }
  const summaries = [...runs].map(([name, rs]) => summarize(name, rs));
  if (!o.json) {
    console.log(`corpus: ${size.files} files, ${mib(size.apparent)} MiB logical (MB/s are of this), ${mib(size.allocated)} MiB allocated`);
    console.log(`${WARM_NOTE}; times are median (min) of ${o.reps} run(s); MB = 10^6 bytes; "vs" = how many times faster than that tool, on medians; RSS = largest peak of the measured process\n`);
    console.log(renderTable(summaries, size));
    const procs = renderProcessTable(summaries);
    if (procs) console.log(`\nPullback over gRPC, per process (master = the \`pullback\` CLI under /usr/bin/time, agent = VmHWM of a freshly started agent):\n\n${procs}`);
    for (const s of summaries) if (s.errors[0]) console.log(`\n${s.tool} failed ${s.errors.length}/${o.reps}: ${failureReason(s.errors[0])}`);
  }
  return { totalMiB: o.totalMiB, corpus: size, warm: true, reps: o.reps, summaries, runs: Object.fromEntries(runs) };
}

async function incremental(o: Options): Promise<unknown> {
  const work = join(WORK, `files-${o.files}`);
  mkdirSync(work, { recursive: true });
  const tree = ensureManyFiles(work, planManyFiles(o.files), log);
  const size = treeSize(tree);
  const { tools, missing } = available(o.only ?? INCREMENTAL_DEFAULT);
  const results: IncrementalResult[] = missing.map((m) => ({ tool: m.tool, error: m.error ?? "", unchanged: [] }));
  for (const tool of tools) {
    log(`no-change incremental of ${size.files} files: ${tool.name}…`);
    results.push(await runIncremental(tool, work, tree, Math.max(2, o.reps), log));
  }
  if (!o.json) {
    console.log(`\nno-change incremental: ${size.files} files, ${mib(size.apparent)} MiB, backed up once, then again unchanged ${Math.max(2, o.reps)} times; unchanged s = median (min); ${WARM_NOTE}\n`);
    console.log(renderIncremental(results, size.files));
    for (const r of results) if (r.error) console.log(`\n${r.tool} failed: ${failureReason(r.error)}`);
  }
  return { files: o.files, tree: size, results };
}

async function main(): Promise<void> {
  const o = options();
  const out: Record<string, unknown> = {};
  if (o.comparison) out.comparison = await comparison(o);
  if (o.incremental) out.incremental = await incremental(o);
  if (o.json) process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}

// A signal ends the run through process.exit, so the exit hook stops any agent still running.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
