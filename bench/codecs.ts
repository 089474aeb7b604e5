/**
 * Codec micro-benchmark: every candidate library and level on the same 1 MiB pieces of text,
 * binaries and random bytes, single-threaded (the agent runs one codec call per worker thread).
 *
 *   node bench/dist/codecs.js [--mib N] [--reps N] [--json]
 *
 * --mib sets the text and binary sample sizes (random gets a quarter); speeds are the best of
 * --reps interleaved rounds, so neither a cold first pass nor a burst of load elsewhere counts.
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { buildSample, type Sample } from "./lib/sample.js";
import { CANDIDATES, type Candidate, type CodecImpl } from "./lib/codec-candidates.js";
import { markdownTable, mbps } from "./lib/table.js";
import type { DataClass } from "./lib/sources.js";

interface CodecResult {
  library: string;
  codec: string;
  level: string;
  install: string;
  error?: string;
  compressMBps?: number;
  decompressMBps?: number;
  /** plain / stored per data class and overall; > 1 is a saving. */
  ratio?: Record<DataClass | "all", number>;
}

function seconds(pass: () => void): number {
  const t0 = process.hrtime.bigint();
  pass();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

interface Loaded {
  candidate: Candidate;
  impl: CodecImpl;
  packed: Uint8Array[];
  bestCompress: number;
  bestDecompress: number;
}

/** One untimed pass that also proves the round trip, so a broken codec cannot post a fast number. */
function prepare(candidate: Candidate, impl: CodecImpl, pieces: Buffer[]): Loaded {
  const packed = pieces.map((p) => impl.compress(p));
  pieces.forEach((p, i) => {
    if (!p.equals(impl.decompress(packed[i] ?? new Uint8Array(0), p.length))) throw new Error("round trip changed the data");
  });
  return { candidate, impl, packed, bestCompress: Infinity, bestDecompress: Infinity };
}

/**
 * Candidates are interleaved round by round and each keeps its best round: on a shared machine a
 * burst of load then slows one round of every candidate instead of all rounds of one of them.
 */
function timeRounds(loaded: Loaded[], pieces: Buffer[], rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    for (const l of loaded) {
      l.bestCompress = Math.min(l.bestCompress, seconds(() => pieces.forEach((p) => l.impl.compress(p))));
      l.bestDecompress = Math.min(
        l.bestDecompress,
        seconds(() => pieces.forEach((p, i) => l.impl.decompress(l.packed[i] ?? new Uint8Array(0), p.length))),
      );
    }
  }
}

function summarize(l: Loaded, sample: Sample): CodecResult {
  const c = l.candidate;
  const plainBytes = [...sample.values()].flat().reduce((n, p) => n + p.length, 0);
  const ratio = { text: 0, binary: 0, random: 0, all: 0 };
  let at = 0;
  let stored = 0;
  for (const [cls, list] of sample) {
    let s = 0;
    // A chunk is stored plain when compression does not pay, whatever the library returned.
    for (const p of list) s += Math.min(p.length, l.packed[at++]?.byteLength ?? p.length);
    ratio[cls] = list.reduce((n, p) => n + p.length, 0) / s;
    stored += s;
  }
  ratio.all = plainBytes / stored;
  return {
    library: c.library,
    codec: c.codec,
    level: c.level,
    install: c.install,
    compressMBps: plainBytes / 1e6 / l.bestCompress,
    decompressMBps: plainBytes / 1e6 / l.bestDecompress,
    ratio,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { mib: { type: "string", default: "24" }, reps: { type: "string", default: "3" }, json: { type: "boolean", default: false } },
  });
  const size = Math.max(1, Number(values.mib));
  const reps = Math.max(1, Number(values.reps));
  const sample = buildSample({ text: size, binary: size, random: Math.max(1, Math.round(size / 4)) });
  const pieces = [...sample.values()].flat();
  const failed: CodecResult[] = [];
  const loaded: Loaded[] = [];
  for (const c of CANDIDATES) {
    try {
      loaded.push(prepare(c, await c.load(), pieces));
    } catch (err) {
      const msg = (err as Error).message.split("\n")[0] ?? "";
      failed.push({ library: c.library, codec: c.codec, level: c.level, install: c.install, error: msg });
    }
  }
  const load = loadavg()[0] ?? 0;
  timeRounds(loaded, pieces, reps);
  const results = [...loaded.map((l) => summarize(l, sample)), ...failed];
  if (values.json) {
    const counts = Object.fromEntries([...sample].map(([k, v]) => [k, v.length]));
    process.stdout.write(JSON.stringify({ pieceBytes: 1048576, pieces: counts, reps, loadAverageAtStart: load, results }, null, 2) + "\n");
    return;
  }
  const counts = [...sample].map(([k, v]) => `${k} ${v.length}`).join(", ");
  console.log(`1 MiB pieces: ${counts}; best of ${reps} interleaved rounds; one thread; load average ${load.toFixed(1)} at start; MB = 10^6 bytes; ratio = plain/stored\n`);
  const rows = results.map((r) =>
    r.error
      ? [r.library, r.codec, r.level, r.error, "", "", "", "", "", r.install]
      : [
          r.library,
          r.codec,
          r.level,
          mbps((r.compressMBps ?? 0) * 1e6, 1),
          mbps((r.decompressMBps ?? 0) * 1e6, 1),
          (r.ratio?.text ?? 0).toFixed(2),
          (r.ratio?.binary ?? 0).toFixed(2),
          (r.ratio?.random ?? 0).toFixed(3),
          (r.ratio?.all ?? 0).toFixed(2),
          r.install,
        ],
  );
  console.log(
    markdownTable(["library", "codec", "level", "compress MB/s", "decompress MB/s", "text", "binary", "random", "all", "install"], rows),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
