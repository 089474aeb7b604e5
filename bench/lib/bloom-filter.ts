/**
 * (e) A Bloom filter over chunk ids, put in front of an on-disk index so that most absent ids never
 * reach it. Ids are SHA-256 digests, already uniformly random: the probes are derived from the id's
 * first 8 bytes (double hashing) instead of hashing again.
 */
import type { IndexCandidate } from "./index-candidate.js";
import { ID_BYTES, type Probe } from "./index-ids.js";

export class BloomFilter {
  private readonly bits: Uint32Array;
  private readonly m: number;

  constructor(
    n: number,
    readonly bitsPerId: number,
    readonly probes: number,
  ) {
    this.m = Math.max(64, Math.ceil(n * bitsPerId));
    this.bits = new Uint32Array(Math.ceil(this.m / 32));
  }

  get bytes(): number {
    return this.bits.byteLength;
  }

  add(id: Buffer, at = 0): void {
    const h1 = id.readUInt32LE(at);
    const h2 = (id.readUInt32LE(at + 4) | 1) >>> 0;
    for (let i = 0; i < this.probes; i++) {
      const bit = (h1 + i * h2) % this.m;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  mayHave(id: Buffer, at = 0): boolean {
    const h1 = id.readUInt32LE(at);
    const h2 = (id.readUInt32LE(at + 4) | 1) >>> 0;
    for (let i = 0; i < this.probes; i++) {
      const bit = (h1 + i * h2) % this.m;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** An index behind a filter: only the ids the filter lets through are looked up. */
export class FilteredIndex {
  /** Ids the filter let through, for the false-positive rate over a batch of absent ids. */
  passed = 0;

  constructor(
    readonly filter: BloomFilter,
    private readonly inner: IndexCandidate,
  ) {}

  build(ids: Buffer, n: number): void {
    for (let i = 0; i < n; i++) this.filter.add(ids, i * ID_BYTES);
  }

  async lookup(batch: Probe): Promise<number> {
    const raw: Buffer[] = [];
    const hex: string[] = [];
    for (let j = 0, k = 0; j < batch.raw.length; j += ID_BYTES, k++) {
      if (this.filter.mayHave(batch.raw, j)) {
        raw.push(batch.raw.subarray(j, j + ID_BYTES));
        hex.push(batch.hex[k]!);
      }
    }
    this.passed += raw.length;
    return raw.length ? this.inner.lookup({ raw: Buffer.concat(raw), hex }) : 0;
  }
}
