/**
 * Content-defined chunking (FastCDC with normalized chunking) plus zero-block detection.
 *
 * Boundaries depend only on content, so an insertion early in a file shifts at most a chunk or two
 * and the rest still deduplicates. The gear table is derived from a fixed seed: changing it, or the
 * parameters, changes every boundary and therefore costs one full re-upload of every source.
 *
 * Runs of all-zero blocks (aligned to ZERO_BLOCK in the file) are reported as holes rather than data:
 * they are never hashed, stored or sent, and a restore leaves them as holes. A hole also ends the
 * pending data run, so the data on either side of it is chunked independently.
 */
import { createHash } from "node:crypto";

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/** Chosen by measurement (docs/decisions.md, "Chunker"): 1 MiB average like restic, 256 KiB–4 MiB. */
export const FILE_CHUNKING: ChunkerParams = { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 };
/** Manifests change a few lines at a time; small chunks keep successive manifests deduplicating. */
export const MANIFEST_CHUNKING: ChunkerParams = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };

export const ZERO_BLOCK = 64 * 1024;

const GEAR = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const h = createHash("sha256").update(`pullback-gear-v1:${i}`).digest();
    table[i] = h.readInt32LE(0);
  }
  return table;
})();

function bitsOf(n: number): number {
  return Math.round(Math.log2(n));
}

/** High bits of a left-shifting gear hash depend on the most preceding bytes, so masks use them. */
function highMask(bits: number): number {
  return bits <= 0 ? 0 : (((1 << bits) - 1) << (32 - bits)) | 0;
}

export function validateParams(p: ChunkerParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avgSize) || p.minSize <= 0 || p.minSize >= p.avgSize || p.maxSize <= p.avgSize || p.maxSize > 64 * 1024 * 1024) {
    throw new Error(
      `internal error: invalid chunker parameters ${JSON.stringify(p)}: need 0 < min < avg < max <= 64 MiB with avg a power of two — please report`,
    );
  }
}

/**
 * Length of the next chunk of buf[start, end). `final` says no more data follows `end`, so a short
 * tail is a chunk of its own; otherwise the caller must supply at least maxSize bytes.
 */
export function cutPoint(buf: Uint8Array, start: number, end: number, p: ChunkerParams, final: boolean): number {
  let n = end - start;
  if (n <= p.minSize) return n;
  if (n > p.maxSize) n = p.maxSize;
  else if (!final && n < p.maxSize) throw new Error("internal error: cutPoint needs maxSize bytes unless final — please report");
  const bits = bitsOf(p.avgSize);
  // Normalized chunking (level 2): harder to cut before the average, easier after it.
  const maskS = highMask(bits + 2);
  const maskL = highMask(bits - 2);
  const normal = Math.min(n, p.avgSize);
  const gear = GEAR;
  let h = 0;
  let i = start + p.minSize;
  const iNormal = start + normal;
  const iEnd = start + n;
  for (; i < iNormal; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskS) === 0) return i - start + 1;
  }
  for (; i < iEnd; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskL) === 0) return i - start + 1;
  }
  return n;
}

export type ChunkPiece =
  /** `data` is a view into the chunker's reused buffer: valid only until the next piece is requested. */
  | { kind: "data"; offset: number; data: Buffer }
  | { kind: "hole"; offset: number; length: number };

/** Reads up to `length` bytes into `buf` at `offset`; returns 0 at the end of the input. */
export type FillFn = (buf: Buffer, offset: number, length: number) => Promise<number>;

function isZero(buf: Buffer, start: number, end: number): boolean {
  // Cheap probes first: nearly every data block is rejected on its first or last word.
  if (buf[start] !== 0 || buf[end - 1] !== 0 || buf[(start + end) >>> 1] !== 0) return false;
  return buf.compare(ZERO, 0, end - start, start, end) === 0;
}
const ZERO = Buffer.alloc(ZERO_BLOCK);

export interface ChunkStreamOptions {
  params: ChunkerParams;
  /** Report aligned all-zero blocks as holes (files); off for streams such as database dumps. */
  detectHoles: boolean;
  /** Reused between calls to avoid allocating per file; must be at least 2 × maxSize. */
  buffer?: Buffer;
}

export function chunkBuffer(size: ChunkerParams): Buffer {
  return Buffer.allocUnsafe(Math.max(2 * size.maxSize, 4 * ZERO_BLOCK));
}

/**
 * Splits the input produced by `fill` into data chunks and holes, in order. Offsets are positions
 * in the input. Memory stays bounded by the one buffer whatever the input size.
 */
// Kept whole (68 lines): the per-block hot loop; its four cursors (pendStart, scanned, filled, base)
// change together, and splitting them across calls would add a call or an object per block.
export async function* chunkStream(fill: FillFn, opts: ChunkStreamOptions): AsyncGenerator<ChunkPiece> {
  const p = opts.params;
  const buf = opts.buffer ?? chunkBuffer(p);
  if (buf.length < 2 * p.maxSize) throw new Error("internal error: chunk buffer must hold two maximal chunks — please report");
  let pendStart = 0; // start of data not yet emitted (index in buf)
  let scanned = 0; // end of data already classified as data/zero (index in buf)
  let filled = 0; // end of bytes read into buf
  let base = 0; // input offset of buf[0]
  let hole: { offset: number; length: number } | null = null;
  let eof = false;

  while (true) {
    // Keep buf[pendStart, filled) and make room: compaction copies at most one max chunk plus a block.
    if (!eof && filled < buf.length) {
      const want = buf.length - filled;
      // Read whole blocks so zero-block alignment stays relative to the input.
      const n = await fill(buf, filled, want);
      if (n === 0) eof = true;
      filled += n;
    }
    // Classify new bytes block by block; the last partial block waits until more data or EOF.
    while (scanned < filled) {
      const blockEnd = Math.min(scanned + ZERO_BLOCK, filled);
      const full = blockEnd - scanned === ZERO_BLOCK;
      if (!full && !eof) break;
      if (opts.detectHoles && full && isZero(buf, scanned, blockEnd)) {
        // Flush pending data up to the hole as a final run.
        while (pendStart < scanned) {
          const len = cutPoint(buf, pendStart, scanned, p, true);
          yield { kind: "data", offset: base + pendStart, data: buf.subarray(pendStart, pendStart + len) };
          pendStart += len;
        }
        if (hole && hole.offset + hole.length === base + scanned) hole.length += ZERO_BLOCK;
        else {
          if (hole) yield { kind: "hole", ...hole };
          hole = { offset: base + scanned, length: ZERO_BLOCK };
        }
        pendStart = blockEnd;
      } else if (hole) {
        yield { kind: "hole", ...hole };
        hole = null;
      }
      scanned = blockEnd;
      while (scanned - pendStart >= p.maxSize) {
        const len = cutPoint(buf, pendStart, scanned, p, false);
        yield { kind: "data", offset: base + pendStart, data: buf.subarray(pendStart, pendStart + len) };
        pendStart += len;
      }
    }
    if (eof) {
      while (pendStart < filled) {
        const len = cutPoint(buf, pendStart, filled, p, true);
        yield { kind: "data", offset: base + pendStart, data: buf.subarray(pendStart, pendStart + len) };
        pendStart += len;
      }
      if (hole) yield { kind: "hole", ...hole };
      return;
    }
    // Compact: move unemitted bytes to the front, keeping block alignment of `scanned`.
    if (pendStart > 0) {
      buf.copy(buf, 0, pendStart, filled);
      base += pendStart;
      scanned -= pendStart;
      filled -= pendStart;
      pendStart = 0;
    }
  }
}
