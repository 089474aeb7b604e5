/**
 * The "tree of many small files" corpus for the no-change incremental comparison: N files of 1–4 KiB
 * in a two-level tree of a few hundred directories, config- and log-like text with a random tail so
 * files neither deduplicate nor compress to nothing. Built once per N and reused (marker file).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ManyFilesPlan {
  files: number;
  /** Leaf directories, as top × sub. */
  top: number;
  sub: number;
  minBytes: number;
  maxBytes: number;
  version: 1;
}

export function planManyFiles(files: number): ManyFilesPlan {
  return { files, top: 20, sub: 20, minBytes: 1024, maxBytes: 4096, version: 1 };
}

/** A small deterministic PRNG (mulberry32), so the tree is the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fileBody(i: number, size: number, rnd: () => number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (let l = 0; at < size * 0.75; l++) at += b.write(`setting_${l}=${Math.floor(rnd() * 1e9)} # file ${i}\n`, at);
  while (at < size) b[at++] = 97 + Math.floor(rnd() * 26);
  return b;
}

/** Returns the tree's directory under `workDir`, building it unless an identical one exists. */
export function ensureManyFiles(workDir: string, plan: ManyFilesPlan, log: (m: string) => void): string {
  const dir = join(workDir, "tree");
  const marker = join(workDir, "tree.json");
  const want = JSON.stringify(plan);
  if (existsSync(marker) && readFileSync(marker, "utf8") === want) return dir;
  rmSync(dir, { recursive: true, force: true });
  rmSync(marker, { force: true });
  log(`building ${plan.files} small files in ${plan.top * plan.sub} directories…`);
  const rnd = prng(plan.files);
  const leaves = plan.top * plan.sub;
  for (let d = 0; d < leaves; d++) mkdirSync(join(dir, `t${Math.floor(d / plan.sub)}`, `s${d % plan.sub}`), { recursive: true });
  for (let i = 0; i < plan.files; i++) {
    const d = i % leaves;
    const size = plan.minBytes + Math.floor(rnd() * (plan.maxBytes - plan.minBytes + 1));
    writeFileSync(join(dir, `t${Math.floor(d / plan.sub)}`, `s${d % plan.sub}`, `f${i}.txt`), fileBody(i, size, rnd));
  }
  writeFileSync(marker, want);
  return dir;
}
