/**
 * Every codec library considered for chunks, behind one small interface so the benchmark treats
 * them alike. Libraries are loaded at run time and may be missing: the benchmark then reports the
 * candidate as unavailable instead of failing, because the losers are only dev dependencies.
 */
import { createRequire } from "node:module";
import { compress, decompress, initCodecs, type CodecSpec } from "@pullback/common";

const require = createRequire(import.meta.url);

export interface CodecImpl {
  compress(plain: Buffer): Uint8Array;
  /** `plainLen` is what the store knows about every chunk; block formats need it. */
  decompress(packed: Uint8Array, plainLen: number): Uint8Array;
}

export interface Candidate {
  library: string;
  codec: "lz4" | "zstd";
  level: string;
  /** How the binary reaches a production node: the agent must install without a compiler. */
  install: string;
  load(): Promise<CodecImpl>;
}

interface Lz4Native {
  encodeBound(n: number): number;
  encodeBlock(src: Buffer, dst: Buffer): number;
  encodeBlockHC(src: Buffer, dst: Buffer, level?: number): number;
  decodeBlock(src: Uint8Array, dst: Buffer): number;
}
interface Lz4Napi {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array): Buffer;
}
interface ZstdNapi {
  compress(data: Uint8Array, p?: { compressionLevel?: number }): Buffer;
  decompress(data: Uint8Array): Buffer;
}
interface ToondepauwZstd {
  Encoder: new (level: number) => { encodeSync(data: Buffer): Buffer };
  Decoder: new () => { decodeSync(data: Buffer): Buffer };
}
interface ZstdCodecSimple {
  compress(data: Uint8Array, level: number): Uint8Array | null;
  decompress(data: Uint8Array): Uint8Array | null;
}
interface ZstdCodecModule {
  ZstdCodec: { run(cb: (z: { Simple: new () => ZstdCodecSimple }) => void): void };
}

function lz4Native(hcLevel: number): () => Promise<CodecImpl> {
  return async () => {
    const l = require("lz4") as Lz4Native;
    return {
      compress(plain) {
        const dst = Buffer.allocUnsafe(l.encodeBound(plain.length));
        const n = hcLevel > 0 ? l.encodeBlockHC(plain, dst, hcLevel) : l.encodeBlock(plain, dst);
        return dst.subarray(0, n); // 0 means "incompressible": the round-trip check will say so
      },
      decompress(packed, plainLen) {
        const dst = Buffer.allocUnsafe(plainLen);
        l.decodeBlock(packed, dst);
        return dst;
      },
    };
  };
}

async function lz4Napi(): Promise<CodecImpl> {
  const l = require("lz4-napi") as Lz4Napi;
  return { compress: (p) => l.compressSync(p), decompress: (c) => l.uncompressSync(c) };
}

function zstdNapi(level: number): () => Promise<CodecImpl> {
  return async () => {
    const z = require("zstd-napi") as ZstdNapi;
    return { compress: (p) => z.compress(p, { compressionLevel: level }), decompress: (c) => z.decompress(c) };
  };
}

function zstdToondepauw(level: number): () => Promise<CodecImpl> {
  return async () => {
    const z = require("@toondepauw/node-zstd") as ToondepauwZstd;
    const enc = new z.Encoder(level);
    const dec = new z.Decoder();
    return { compress: (p) => enc.encodeSync(p), decompress: (c) => dec.decodeSync(Buffer.from(c.buffer, c.byteOffset, c.byteLength)) };
  };
}

function zstdWasm(level: number): () => Promise<CodecImpl> {
  return () =>
    new Promise((resolve) => {
      (require("zstd-codec") as ZstdCodecModule).ZstdCodec.run((z) => {
        const s = new z.Simple();
        resolve({
          compress: (p) => s.compress(p, level) ?? new Uint8Array(0),
          decompress: (c) => s.decompress(c) ?? new Uint8Array(0),
        });
      });
    });
}

/** The production path, including its "store uncompressed when it doesn't pay" rule. */
function pullback(spec: CodecSpec): () => Promise<CodecImpl> {
  return async () => {
    await initCodecs();
    return {
      compress: (plain) => compress(plain, spec).data,
      // The store records which codec each chunk got; here it is re-derived from the size, since
      // compress() only keeps a compressed form that is at least 1/32 smaller than the plain one.
      decompress(packed, plainLen) {
        const buf = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
        return decompress(packed.byteLength === plainLen ? "none" : spec.name, buf, plainLen);
      },
    };
  };
}

const NATIVE_GYP = "node-gyp at install (needs a compiler)";
const PREBUILT = "prebuilt binary inside a registry package";

export const CANDIDATES: Candidate[] = [
  { library: "lz4", codec: "lz4", level: "fast", install: NATIVE_GYP, load: lz4Native(0) },
  { library: "lz4", codec: "lz4", level: "HC 9", install: NATIVE_GYP, load: lz4Native(9) },
  { library: "lz4-napi", codec: "lz4", level: "fast", install: PREBUILT, load: lz4Napi },
  { library: "zstd-codec", codec: "zstd", level: "1", install: "WebAssembly", load: zstdWasm(1) },
  { library: "zstd-codec", codec: "zstd", level: "3", install: "WebAssembly", load: zstdWasm(3) },
  { library: "zstd-napi", codec: "zstd", level: "1", install: `${NATIVE_GYP}; prebuilds only from the project's release page`, load: zstdNapi(1) },
  { library: "zstd-napi", codec: "zstd", level: "3", install: NATIVE_GYP, load: zstdNapi(3) },
  { library: "@toondepauw/node-zstd", codec: "zstd", level: "1", install: PREBUILT, load: zstdToondepauw(1) },
  { library: "@toondepauw/node-zstd", codec: "zstd", level: "3", install: PREBUILT, load: zstdToondepauw(3) },
  { library: "@toondepauw/node-zstd", codec: "zstd", level: "6", install: PREBUILT, load: zstdToondepauw(6) },
  { library: "@toondepauw/node-zstd", codec: "zstd", level: "9", install: PREBUILT, load: zstdToondepauw(9) },
  { library: "@pullback/common", codec: "lz4", level: "default", install: "production path", load: pullback({ name: "lz4" }) },
  { library: "@pullback/common", codec: "zstd", level: "default", install: "production path", load: pullback({ name: "zstd" }) },
];
