import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, createHash } from "node:crypto";
import { chunkStream, cutPoint, validateParams, FILE_CHUNKING, ZERO_BLOCK, type ChunkPiece, type ChunkerParams } from "../src/index.js";

const small: ChunkerParams = { minSize: 2048, avgSize: 8192, maxSize: 32768 };

/** Feeds `input` through chunkStream, `step` bytes a read at most (short reads like a pipe). */
async function pieces(input: Buffer, params: ChunkerParams, detectHoles: boolean, step = Infinity) {
  let pos = 0;
  const out: { kind: string; offset: number; length: number; hash?: string }[] = [];
  const fill = async (buf: Buffer, off: number, len: number) => {
    const n = Math.min(len, step, input.length - pos);
    input.copy(buf, off, pos, pos + n);
    pos += n;
    return n;
  };
  for await (const p of chunkStream(fill, { params, detectHoles }) as AsyncGenerator<ChunkPiece>) {
    if (p.kind === "data") out.push({ kind: "data", offset: p.offset, length: p.data.length, hash: createHash("sha256").update(p.data).digest("hex") });
    else out.push({ kind: "hole", offset: p.offset, length: p.length });
  }
  return out;
}

test("chunks tile the input within min/max bounds and are deterministic", async () => {
  const input = randomBytes(2 * 1024 * 1024);
  const a = await pieces(input, small, false);
  const b = await pieces(input, small, false, 1000);
  assert.deepEqual(a, b, "short reads must not move boundaries");
  let at = 0;
  for (const [i, p] of a.entries()) {
    assert.equal(p.offset, at);
    assert.ok(p.length <= small.maxSize);
    if (i < a.length - 1) assert.ok(p.length >= small.minSize, `chunk ${i} is ${p.length} bytes`);
    at += p.length;
  }
  assert.equal(at, input.length);
  const avg = input.length / a.length;
  assert.ok(avg > small.avgSize / 2 && avg < small.avgSize * 2, `average chunk ${avg}`);
});

test("an insertion near the start moves only the boundaries around it", async () => {
  const input = randomBytes(1024 * 1024);
  const shifted = Buffer.concat([input.subarray(0, 5000), randomBytes(17), input.subarray(5000)]);
  const a = new Set((await pieces(input, small, false)).map((p) => p.hash));
  const b = await pieces(shifted, small, false);
  const reused = b.filter((p) => a.has(p.hash)).length;
  assert.ok(reused >= b.length - 3, `only ${reused} of ${b.length} chunks survived a 17-byte insertion`);
});

test("aligned zero blocks become holes, the data around them stays data", async () => {
  const data1 = randomBytes(100_000);
  const zeros = Buffer.alloc(5 * ZERO_BLOCK + 1234);
  const data2 = randomBytes(70_000);
  const input = Buffer.concat([data1, zeros, data2]);
  const out = await pieces(input, FILE_CHUNKING, true, 50_000);
  const holes = out.filter((p) => p.kind === "hole");
  assert.equal(holes.length, 1);
  // The hole covers exactly the whole aligned blocks inside the zero run.
  const holeStart = Math.ceil(100_000 / ZERO_BLOCK) * ZERO_BLOCK;
  const holeEnd = Math.floor((100_000 + zeros.length) / ZERO_BLOCK) * ZERO_BLOCK;
  assert.deepEqual(holes[0], { kind: "hole", offset: holeStart, length: holeEnd - holeStart });
  let at = 0;
  for (const p of out) {
    assert.equal(p.offset, at);
    at += p.length;
  }
  assert.equal(at, input.length);
  // Without hole detection (dumps) the same input is all data.
  assert.ok((await pieces(input, FILE_CHUNKING, false)).every((p) => p.kind === "data"));
});

test("cutPoint refuses a short non-final window and invalid parameters are refused", () => {
  assert.throws(() => cutPoint(Buffer.alloc(10_000), 0, 10_000, small, false), /maxSize/);
  assert.throws(() => validateParams({ minSize: 10, avgSize: 1000, maxSize: 4000 }), /power of two/);
  assert.throws(() => validateParams({ minSize: 8192, avgSize: 8192, maxSize: 32768 }), /min < avg/);
  validateParams(FILE_CHUNKING);
});
