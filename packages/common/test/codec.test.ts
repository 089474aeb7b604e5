import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { compress, decompress, initCodecs, parseCodec, type CodecSpec } from "../src/codec.js";

const SPECS: CodecSpec[] = [{ name: "none" }, { name: "lz4" }, { name: "zstd" }, { name: "zstd", level: 1 }, { name: "zstd", level: 19 }];

function compressible(n: number): Buffer {
  const line = Buffer.from("2024-05-01T12:00:00Z web1 nginx: GET /index.html 200 512\n");
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += line.length) line.copy(out, i);
  return out;
}

function roundTrip(plain: Buffer, spec: CodecSpec): string {
  const c = compress(plain, spec);
  assert.ok(decompress(c.codec, c.data, plain.length).equals(plain), `${spec.name}:${spec.level ?? ""} round trip`);
  return c.codec;
}

test("initCodecs loads both native codecs", async () => {
  await initCodecs();
});

test("compressible data round-trips and is stored compressed", () => {
  const plain = compressible(1 << 20);
  for (const spec of SPECS) {
    const c = compress(plain, spec);
    assert.equal(c.codec, spec.name);
    if (spec.name !== "none") assert.ok(c.data.length < plain.length / 4);
    assert.ok(decompress(c.codec, c.data, plain.length).equals(plain));
  }
});

test("incompressible data is stored as is", () => {
  const plain = randomBytes(256 * 1024);
  for (const spec of SPECS) {
    const c = compress(plain, spec);
    assert.equal(c.codec, "none");
    assert.equal(c.data, plain, "no copy for stored-as-is chunks");
    assert.equal(roundTrip(plain, spec), "none");
  }
});

test("empty and tiny inputs round-trip", () => {
  for (const spec of SPECS) {
    for (const n of [0, 1, 63, 64, 65, 100]) assert.ok(["none", spec.name].includes(roundTrip(compressible(n), spec)));
  }
});

test("a chunk that only just shrinks is stored as is", () => {
  // Random bytes with a compressible tail: saves less than 1/32, so not worth a decode later.
  const plain = Buffer.concat([randomBytes(64 * 1024), Buffer.alloc(1024)]);
  assert.equal(compress(plain, { name: "zstd" }).codec, "none");
});

test("corrupt data throws an error naming the codec", () => {
  const plain = compressible(100_000);
  for (const name of ["lz4", "zstd"] as const) {
    const good = compress(plain, { name }).data;
    const flipped = Buffer.from(good);
    for (let i = 8; i < flipped.length; i += 7) flipped[i] = (flipped[i] ?? 0) ^ 0x5a;
    const cases: Buffer[] = [Buffer.alloc(0), Buffer.from("not a chunk at all"), good.subarray(0, good.length >> 1), flipped];
    for (const bad of cases) {
      assert.throws(() => decompress(name, bad, plain.length), new RegExp(`^Error: ${name}: corrupt chunk`));
    }
    assert.throws(() => decompress(name, good, plain.length + 1), /corrupt chunk/);
  }
  assert.throws(() => decompress("none", Buffer.alloc(3), 4), /expected 4/);
});

test("lz4 refuses a length prefix that disagrees with the manifest before allocating", () => {
  const good = compress(compressible(10_000), { name: "lz4" }).data;
  const huge = Buffer.from(good);
  huge.writeUInt32LE(0xffffffff, 0);
  assert.throws(() => decompress("lz4", huge, 10_000), /length prefix 4294967295/);
});

test("parseCodec accepts the documented forms", () => {
  assert.deepEqual(parseCodec("none"), { name: "none" });
  assert.deepEqual(parseCodec("lz4"), { name: "lz4" });
  assert.deepEqual(parseCodec("zstd"), { name: "zstd" });
  assert.deepEqual(parseCodec("zstd:1"), { name: "zstd", level: 1 });
  assert.deepEqual(parseCodec("zstd:19"), { name: "zstd", level: 19 });
});

test("parseCodec rejects bad specs", () => {
  for (const bad of ["", "gzip", "zstd:", "zstd:0", "zstd:20", "zstd:-1", "zstd:3.5", "zstd:100", "lz4:1", "none:1", "ZSTD", "zstd:3:4"]) {
    assert.throws(() => parseCodec(bad), /codec/, bad);
  }
});

test("zstd decoding is bounded by the chunk's length: bombs fail fast, real frames of any shape decode", async () => {
  const { compress: c, decompress: d, initCodecs: init, declareContentSize } = await import("../src/index.js");
  await init();
  // Short text lines: zstd's block splitter emits many small blocks; these used to be refused.
  const lines: string[] = [];
  for (let i = 0; i < 60000; i++) lines.push(`line ${i} short text ${i % 7} ${"x".repeat(i % 13)}`);
  const text = Buffer.from(lines.join("\n")).subarray(0, 920_919);
  for (const level of [1, 3, 9, 19]) {
    const z = c(Buffer.from(text), { name: "zstd", level });
    assert.equal(z.codec, "zstd");
    assert.deepEqual(d("zstd", z.data, text.length), text, `level ${level}`);
  }
  // A bomb: 300 MiB of zeros in a few KB, claimed to be a 4 KiB chunk.
  const bomb = c(Buffer.alloc(300 * 1024 * 1024), { name: "zstd" });
  assert.ok(bomb.data.length < 64 * 1024);
  const started = process.hrtime.bigint();
  assert.throws(() => d("zstd", bomb.data, 4096), /zstd: corrupt chunk \(frame does not decode to exactly 4096 bytes\)/);
  assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 200, "the limit stops decoding, it does not decode and compare");
  // A frame whose header already declares another size is refused; so is something that is not zstd.
  const small = c(Buffer.alloc(10_000, 7), { name: "zstd" });
  const declared = declareContentSize(small.data, 10_000);
  assert.throws(() => declareContentSize(declared, 9_999), /declares 10000 bytes, expected 9999/);
  assert.throws(() => d("zstd", Buffer.from("not zstd at all"), 15), /zstd: corrupt chunk \(not a zstd frame\)/);
});
