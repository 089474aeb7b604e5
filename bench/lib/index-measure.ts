/**
 * One chunk index candidate measured in a process of its own (so one's heap cannot inflate the
 * next's figures): build it from N ids, take the memory it added, time hit and miss lookups in
 * batches. The on-disk candidates are measured again behind a Bloom filter, in the same process
 * (the filter's memory is then added to theirs), so each large index is built once.
 */
import type { IndexCandidate } from "./index-candidate.js";
import { hitProbes, missProbes, randomIds, type Probe } from "./index-ids.js";
import { ChunkFilesIndex } from "./index-files.js";
import { HexSetIndex, SortedIdsIndex } from "./index-memory.js";
import { LmdbIndex, PostgresIndex } from "./index-stores.js";
import { BloomFilter, FilteredIndex } from "./bloom-filter.js";

export const CANDIDATES = ["chunk-files", "hex-set", "sorted-buffer", "lmdb", "postgres", "postgres-prefix"] as const;
export type CandidateName = (typeof CANDIDATES)[number];

export interface IndexRow {
  candidate: string;
  n: number;
  buildSeconds: number;
  rssBytes: number;
  /** rss again after the lookups: the pages they touched (for LMDB, mapped file pages the OS may drop). */
  rssAfterLookupsBytes: number;
  heapBytes: number;
  externalBytes: number;
  hitsPerSecond: number;
  missesPerSecond: number;
  diskBytes: number | undefined;
  /** For a filter: the share of absent ids it let through. */
  falsePositiveRate?: number;
}

export interface MeasureOptions {
  n: number;
  lookups: number;
  batch: number;
  bloomBitsPerId: number;
}

function make(name: CandidateName): IndexCandidate {
  if (name === "chunk-files") return new ChunkFilesIndex();
  if (name === "hex-set") return new HexSetIndex();
  if (name === "sorted-buffer") return new SortedIdsIndex();
  if (name === "lmdb") return new LmdbIndex();
  return new PostgresIndex(name === "postgres" ? "bytea" : "prefix");
}

interface Memory {
  rss: number;
  heap: number;
  external: number;
}

function memoryNow(): Memory {
  // --expose-gc is passed by the parent; without it the deltas include garbage.
  // Twice: a Buffer's memory is released only by the collection after the one that finds it dead.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  // external already includes arrayBuffers (every Buffer).
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

async function ratePerSecond(probes: Probe[], lookup: (p: Probe) => Promise<number>, expectEach: boolean): Promise<number> {
  let asked = 0;
  let found = 0;
  const t0 = performance.now();
  for (const p of probes) {
    asked += p.hex.length;
    found += await lookup(p);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (found !== (expectEach ? asked : 0)) throw new Error(`index answered ${found} of ${asked} ids present, expected ${expectEach ? asked : 0}`);
  return asked / seconds;
}

export async function measureCandidate(name: CandidateName, o: MeasureOptions): Promise<IndexRow[]> {
  const ids = randomIds(o.n, "present");
  const hits = hitProbes(ids, o.n, o.lookups, o.batch);
  const misses = missProbes(o.lookups, o.batch);
  const index = make(name);
  try {
    const before = memoryNow();
    const t0 = performance.now();
    await index.build(ids, o.n);
    const buildSeconds = (performance.now() - t0) / 1000;
    // An index on disk is built once and opened many times: measure it as opened, not as just written.
    await index.reopen?.();
    const built = memoryNow();
    const hitsPerSecond = await ratePerSecond(hits, (p) => index.lookup(p), true);
    const missesPerSecond = await ratePerSecond(misses, (p) => index.lookup(p), false);
    const row = await rowOf(name, o.n, buildSeconds, before, built, { hitsPerSecond, missesPerSecond }, index);
    // The filter in front of one table layout is enough: it changes what reaches the table, not how.
    if (name !== "lmdb" && name !== "postgres") return [row];
    return [row, await measureFiltered(index, name, ids, o, before, { hits, misses })];
  } finally {
    await index.close();
  }
}

async function measureFiltered(index: IndexCandidate, name: string, ids: Buffer, o: MeasureOptions, before: Memory, probes: { hits: Probe[]; misses: Probe[] }): Promise<IndexRow> {
  const filtered = new FilteredIndex(new BloomFilter(o.n, o.bloomBitsPerId, Math.max(1, Math.round(o.bloomBitsPerId * Math.LN2))), index);
  const t0 = performance.now();
  filtered.build(ids, o.n);
  const buildSeconds = (performance.now() - t0) / 1000;
  const built = memoryNow();
  const hitsPerSecond = await ratePerSecond(probes.hits, (p) => filtered.lookup(p), true);
  filtered.passed = 0;
  const missesPerSecond = await ratePerSecond(probes.misses, (p) => filtered.lookup(p), false);
  const row = await rowOf(`bloom ${o.bloomBitsPerId} bit/id → ${name}`, o.n, buildSeconds, before, built, { hitsPerSecond, missesPerSecond }, index);
  return { ...row, falsePositiveRate: filtered.passed / o.lookups };
}

/** One table row: memory as deltas over `before` (rss measured again now, after the lookups). */
async function rowOf(
  candidate: string,
  n: number,
  buildSeconds: number,
  before: Memory,
  built: Memory,
  rates: { hitsPerSecond: number; missesPerSecond: number },
  index: IndexCandidate,
): Promise<IndexRow> {
  return {
    candidate,
    n,
    buildSeconds,
    rssBytes: built.rss - before.rss,
    rssAfterLookupsBytes: memoryNow().rss - before.rss,
    heapBytes: built.heap - before.heap,
    externalBytes: built.external - before.external,
    ...rates,
    diskBytes: await index.diskBytes(),
  };
}
