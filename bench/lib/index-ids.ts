/**
 * The ids the chunk index bench looks up: N random 32-byte ids (SHA-256 ids are uniformly random, so
 * random bytes stand in for them), and probe batches of present and absent ids in random order.
 */
import { createCipheriv } from "node:crypto";

export const ID_BYTES = 32;

/** A batch as a backup would send it: the ids back to back, and the same ids as hex strings. */
export interface Probe {
  raw: Buffer;
  hex: string[];
}

/** `n` ids back to back, deterministic for a seed: AES-CTR over zeros, fast enough for 10 M ids. */
export function randomIds(n: number, seed: string): Buffer {
  const key = Buffer.alloc(16);
  key.write(seed.padEnd(16, "."), "latin1");
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(n * ID_BYTES));
}

export function idAt(ids: Buffer, i: number): Buffer {
  return ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES);
}

/** xorshift32: a cheap reproducible order for the probes. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function toProbe(raw: Buffer): Probe {
  const hex: string[] = [];
  for (let i = 0; i < raw.length / ID_BYTES; i++) hex.push(idAt(raw, i).toString("hex"));
  return { raw, hex };
}

/**
 * `count` distinct ids of `ids` (n of them), spread over all of it and shuffled, in batches of `batch`.
 * Distinct because a store answers a batch with the ids it holds: a repeated id would come back once.
 */
export function hitProbes(ids: Buffer, n: number, count: number, batch: number): Probe[] {
  const next = rng(0x5eed);
  const rows = new Uint32Array(Math.min(count, n));
  for (let j = 0; j < rows.length; j++) rows[j] = Math.floor((j * n) / rows.length);
  for (let j = rows.length - 1; j > 0; j--) {
    const k = Math.floor(next() * (j + 1));
    [rows[j], rows[k]] = [rows[k]!, rows[j]!];
  }
  const probes: Probe[] = [];
  for (let done = 0; done < rows.length; done += batch) {
    const k = Math.min(batch, rows.length - done);
    const raw = Buffer.allocUnsafe(k * ID_BYTES);
    for (let j = 0; j < k; j++) ids.copy(raw, j * ID_BYTES, rows[done + j]! * ID_BYTES, (rows[done + j]! + 1) * ID_BYTES);
    probes.push(toProbe(raw));
  }
  return probes;
}

/** `count` ids that are not in the store (another seed), in batches of `batch`. */
export function missProbes(count: number, batch: number): Probe[] {
  const all = randomIds(count, "absent");
  const probes: Probe[] = [];
  for (let done = 0; done < count; done += batch) {
    probes.push(toProbe(Buffer.from(all.subarray(done * ID_BYTES, Math.min(count, done + batch) * ID_BYTES))));
  }
  return probes;
}
