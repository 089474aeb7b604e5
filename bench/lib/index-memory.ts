/**
 * The in-memory chunk index candidates: (a) what the master holds today, a Set of hex strings, and
 * (b) one Buffer of the 32-byte ids sorted, searched through a directory on the first two bytes.
 */
import type { IndexCandidate } from "./index-candidate.js";
import { ID_BYTES, idAt, type Probe } from "./index-ids.js";

export class HexSetIndex implements IndexCandidate {
  private set = new Set<string>();

  async build(ids: Buffer, n: number): Promise<void> {
    for (let i = 0; i < n; i++) this.set.add(idAt(ids, i).toString("hex"));
  }

  async lookup(batch: Probe): Promise<number> {
    let found = 0;
    for (const h of batch.hex) if (this.set.has(h)) found++;
    return found;
  }

  async diskBytes(): Promise<undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    this.set.clear();
  }
}

const DIR_BITS = 16;

export class SortedIdsIndex implements IndexCandidate {
  private sorted: Buffer = Buffer.alloc(0);
  /** dir[p] is the first row whose first two bytes are >= p; dir[65536] = n. */
  private dir = new Uint32Array((1 << DIR_BITS) + 1);

  async build(ids: Buffer, n: number): Promise<void> {
    const out = sortIds(ids, n);
    this.sorted = out;
    for (let p = 0, row = 0; p <= 1 << DIR_BITS; p++) {
      while (row < n && out.readUInt16BE(row * ID_BYTES) < p) row++;
      this.dir[p] = row;
    }
  }

  async lookup(batch: Probe): Promise<number> {
    let found = 0;
    for (let j = 0; j < batch.raw.length; j += ID_BYTES) if (this.has(batch.raw, j)) found++;
    return found;
  }

  private has(key: Buffer, at: number): boolean {
    const p = key.readUInt16BE(at);
    let lo = this.dir[p]!;
    let hi = this.dir[p + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.sorted.compare(key, at, at + ID_BYTES, mid * ID_BYTES, (mid + 1) * ID_BYTES);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }

  async diskBytes(): Promise<undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    this.sorted = Buffer.alloc(0);
  }
}

/**
 * The ids sorted, in a new Buffer. A counting sort on the leading bits (ids are uniformly random, so
 * about one id a bucket), then an insertion sort inside each bucket: far faster than a comparison
 * sort of 10 M rows through Buffer.compare.
 */
export function sortIds(ids: Buffer, n: number): Buffer {
  const bits = Math.min(24, Math.max(DIR_BITS, Math.ceil(Math.log2(Math.max(n, 2)))));
  const start = new Uint32Array((1 << bits) + 1);
  const bucketOf = (i: number): number => ids.readUIntBE(i * ID_BYTES, 3) >>> (24 - bits);
  for (let i = 0; i < n; i++) start[bucketOf(i) + 1]!++;
  for (let b = 1; b < start.length; b++) start[b]! += start[b - 1]!;
  const fill = start.slice();
  const out = Buffer.allocUnsafe(n * ID_BYTES);
  for (let i = 0; i < n; i++) ids.copy(out, fill[bucketOf(i)]!++ * ID_BYTES, i * ID_BYTES, (i + 1) * ID_BYTES);
  const tmp = Buffer.allocUnsafe(ID_BYTES);
  for (let b = 0; b + 1 < start.length; b++) insertionSort(out, start[b]!, start[b + 1]!, tmp);
  return out;
}

function insertionSort(buf: Buffer, from: number, to: number, tmp: Buffer): void {
  for (let i = from + 1; i < to; i++) {
    buf.copy(tmp, 0, i * ID_BYTES, (i + 1) * ID_BYTES);
    let j = i - 1;
    while (j >= from && buf.compare(tmp, 0, ID_BYTES, j * ID_BYTES, (j + 1) * ID_BYTES) > 0) {
      buf.copy(buf, (j + 1) * ID_BYTES, j * ID_BYTES, (j + 1) * ID_BYTES);
      j--;
    }
    tmp.copy(buf, (j + 1) * ID_BYTES);
  }
}
