/**
 * The on-disk corpus every tool backs up: real text and binaries copied from the system, random
 * data, a sparse disk image and many small files, in the proportions of a typical server's data.
 * It is built once per size and reused (a marker file records its parameters), so repeated runs
 * compare the tools, not the corpus builder.
 */
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { isPlainText, listFiles, rootsFor } from "./sources.js";

const MiB = 1024 * 1024;

export interface CorpusPlan {
  textBytes: number;
  binaryBytes: number;
  randomBytes: number;
  smallFiles: number;
  sparseApparent: number;
  sparseData: number;
}

/** Splits a total data size the way the report describes; the sparse image adds apparent size on top. */
export function planCorpus(totalMiB: number): CorpusPlan {
  const t = totalMiB * MiB;
  return {
    textBytes: Math.round(t * 0.3),
    binaryBytes: Math.round(t * 0.3),
    randomBytes: Math.round(t * 0.2),
    // ~4 KiB average: 10% of the data in small files
    smallFiles: Math.max(100, Math.round((t * 0.1) / 4096)),
    sparseApparent: Math.max(256 * MiB, t),
    sparseData: Math.round(t * 0.1),
  };
}

function copyTree(roots: string[], budget: number, dest: string, accept?: (p: string) => boolean): void {
  for (const f of listFiles(roots, budget, accept)) {
    const to = join(dest, f.path);
    mkdirSync(dirname(to), { recursive: true });
    try {
      copyFileSync(f.path, to);
    } catch {
      // unreadable system file: the corpus is a little smaller, which the report shows
    }
  }
}

function writeRandomFiles(dir: string, total: number): void {
  mkdirSync(dir, { recursive: true });
  const fileSize = 32 * MiB;
  for (let i = 0, left = total; left > 0; i++, left -= fileSize) {
    const fd = openSync(join(dir, `random-${i}.bin`), "w");
    for (let n = Math.min(fileSize, left); n > 0; n -= MiB) writeSync(fd, randomBytes(Math.min(MiB, n)));
    closeSync(fd);
  }
}

/** Data extents at spread-out offsets of a mostly empty image, like a thin VM disk. */
function writeSparseImage(path: string, apparent: number, data: number): void {
  const fd = openSync(path, "w");
  ftruncateSync(fd, apparent);
  const extents = Math.max(1, Math.round(data / MiB));
  const stride = Math.floor(apparent / extents / MiB) * MiB;
  for (let i = 0; i < extents; i++) {
    // Half text-like, half random, so the image is neither all compressible nor all noise.
    const piece = i % 2 === 0 ? randomBytes(MiB) : Buffer.alloc(MiB, `block ${i} of a filesystem image\n`);
    writeSync(fd, piece, 0, piece.length, i * stride);
  }
  closeSync(fd);
}

/** Config- and log-like small files, 100 per directory. */
function writeSmallFiles(dir: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    const lines = 10 + (i % 190);
    let s = "";
    for (let l = 0; l < lines; l++) s += `key_${l}=${(i * 7919 + l * 104729) % 1000003} # item ${i}\n`;
    writeFileSync(join(sub, `f${i}.conf`), s);
  }
}

/** Returns the corpus directory, building it under `workDir` unless an identical one exists. */
export function ensureCorpus(workDir: string, plan: CorpusPlan, log: (m: string) => void): string {
  const dir = join(workDir, "corpus");
  const marker = join(workDir, "corpus.json");
  const want = JSON.stringify(plan);
  if (existsSync(marker) && readFileSync(marker, "utf8") === want) return dir;
  rmSync(dir, { recursive: true, force: true });
  log("building corpus (text, binaries, random, sparse image, small files)…");
  copyTree(rootsFor("text"), plan.textBytes, join(dir, "text"), isPlainText);
  copyTree(rootsFor("binary"), plan.binaryBytes, join(dir, "bin"));
  writeRandomFiles(join(dir, "random"), plan.randomBytes);
  mkdirSync(join(dir, "image"), { recursive: true });
  writeSparseImage(join(dir, "image", "disk.img"), plan.sparseApparent, plan.sparseData);
  writeSmallFiles(join(dir, "small"), plan.smallFiles);
  writeFileSync(marker, want);
  return dir;
}
