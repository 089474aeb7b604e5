/**
 * Per-chunk compression. A chunk is stored compressed only when that saves space; otherwise it is
 * stored as is ("none"), so incompressible data (media, encrypted files) costs no decode time.
 * The codec name is recorded with the chunk, so a store can mix codecs and a source's setting can
 * change at any time.
 *
 * Libraries (docs/decisions.md, "Codecs"): both ship prebuilt Node-API binaries inside registry
 * packages, because agents are installed on production nodes that have no compiler, and both can
 * compress on libuv's thread pool, so the agent compresses on a second core while it reads and hashes.
 * - lz4: `lz4-napi` (lz4_flex). Stored form: 4-byte little-endian plain length, then one LZ4 block.
 * - zstd: `@toondepauw/node-zstd` (zstd via Rust) compresses; it decodes without an output limit, so
 *   decoding goes through `zstd-codec` (WebAssembly) with a hard limit (zstd-bounded.ts). Stored
 *   form: one standard zstd frame.
 */
import { createRequire } from "node:module";
import { initBoundedZstd, zstdDecodeBounded } from "./zstd-bounded.js";

const require = createRequire(import.meta.url);

export type CodecName = "none" | "lz4" | "zstd";

export interface CodecSpec {
  name: CodecName;
  /** zstd: 1..19 (default 3). lz4 and none take no level. */
  level?: number;
}

export const ZSTD_DEFAULT_LEVEL = 3;
const ZSTD_MAX_LEVEL = 19;

interface Lz4Lib {
  compress(data: Uint8Array): Promise<Buffer>;
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Uint8Array): Buffer;
}

interface ZstdEncoder {
  encode(data: Buffer): Promise<Buffer>;
  encodeSync(data: Buffer): Buffer;
}
interface ZstdLib {
  Encoder: new (level: number) => ZstdEncoder;
}

let lz4: Lz4Lib | undefined;
let zstd: ZstdLib | undefined;
/** Encoders keep their compression context between calls; one per level for synchronous calls. */
const zstdEncoders = new Map<number, ZstdEncoder>();
/**
 * Idle encoders for asynchronous calls, per level. An encoder owns one zstd context, which must not
 * be used by two thread-pool tasks at once: each call takes one from here and returns it after.
 */
const idleAsyncEncoders = new Map<number, ZstdEncoder[]>();

function loadNative<T>(pkg: string, codec: string): T {
  try {
    return require(pkg) as T;
  } catch (err) {
    throw new Error(
      `the ${codec} codec is unavailable: package "${pkg}" did not load (${(err as Error).message.split("\n")[0]}); ` +
        `reinstall with optional dependencies enabled so its prebuilt binary for ${process.platform}-${process.arch} is present`,
    );
  }
}

function lz4Lib(): Lz4Lib {
  return (lz4 ??= loadNative<Lz4Lib>("lz4-napi", "lz4"));
}

function zstdLib(): ZstdLib {
  return (zstd ??= loadNative<ZstdLib>("@toondepauw/node-zstd", "zstd"));
}

function zstdEncoder(level: number): ZstdEncoder {
  let e = zstdEncoders.get(level);
  if (!e) {
    e = new (zstdLib().Encoder)(level);
    zstdEncoders.set(level, e);
  }
  return e;
}

/**
 * Loads both native codecs now, so that a node missing a binary fails when the process starts
 * rather than in the middle of a backup. Compression also works without calling it.
 */
export async function initCodecs(): Promise<void> {
  lz4Lib();
  zstdLib();
  await initBoundedZstd();
}

export interface Compressed {
  codec: CodecName;
  data: Buffer;
}

/** Below this, the codec headers alone eat any saving. */
const MIN_COMPRESS = 64;

/**
 * Compress `plain`; falls back to "none" (returning `plain` itself, not a copy) unless compression
 * saves at least 1/32 of the size, so that chunks which barely shrink do not pay a decode later.
 */
export function compress(plain: Buffer, spec: CodecSpec): Compressed {
  if (spec.name === "none" || plain.length < MIN_COMPRESS) return { codec: "none", data: plain };
  const out =
    spec.name === "lz4" ? lz4Lib().compressSync(plain) : zstdEncoder(spec.level ?? ZSTD_DEFAULT_LEVEL).encodeSync(plain);
  return worthIt(plain, out, spec.name);
}

/**
 * `compress` on libuv's thread pool, so the caller can go on reading and hashing meanwhile. `plain`
 * is read by another thread until the promise settles: it must not be a buffer that is reused.
 */
export async function compressAsync(plain: Buffer, spec: CodecSpec): Promise<Compressed> {
  if (spec.name === "none" || plain.length < MIN_COMPRESS) return { codec: "none", data: plain };
  if (spec.name === "lz4") return worthIt(plain, await lz4Lib().compress(plain), "lz4");
  const level = spec.level ?? ZSTD_DEFAULT_LEVEL;
  let idle = idleAsyncEncoders.get(level);
  if (!idle) idleAsyncEncoders.set(level, (idle = []));
  const encoder = idle.pop() ?? new (zstdLib().Encoder)(level);
  try {
    return worthIt(plain, await encoder.encode(plain), "zstd");
  } finally {
    idle.push(encoder);
  }
}

function worthIt(plain: Buffer, out: Buffer, codec: CodecName): Compressed {
  if (out.length > plain.length - (plain.length >> 5)) return { codec: "none", data: plain };
  return { codec, data: out };
}

/**
 * Decompress one stored chunk whose plain length the caller knows from the manifest or the wire.
 * Throws an Error naming the codec for data that is corrupt or does not decode to `plainLen` bytes.
 */
export function decompress(codec: CodecName, data: Buffer, plainLen: number): Buffer {
  switch (codec) {
    case "none":
      if (data.length !== plainLen) throw new Error(`stored chunk has ${data.length} bytes, expected ${plainLen}`);
      return data;
    case "lz4": {
      // Checked before decoding: the library would otherwise allocate whatever the prefix claims.
      const claimed = data.length >= 4 ? data.readUInt32LE(0) : -1;
      if (claimed !== plainLen) throw new Error(`lz4: corrupt chunk (length prefix ${claimed}, expected ${plainLen})`);
      return checked("lz4", plainLen, () => lz4Lib().uncompressSync(data));
    }
    case "zstd":
      // Bounded: chunks come from agents, which are not trusted (zstd-bounded.ts).
      return checked("zstd", plainLen, () => zstdDecodeBounded(data, plainLen));
    default:
      throw new Error(`unknown codec "${String(codec)}" in stored chunk`);
  }
}

function checked(codec: string, plainLen: number, decode: () => Buffer): Buffer {
  let out: Buffer;
  try {
    out = decode();
  } catch (err) {
    throw new Error(`${codec}: corrupt chunk (${(err as Error).message})`);
  }
  if (out.length !== plainLen) throw new Error(`${codec}: corrupt chunk (decoded ${out.length} bytes, expected ${plainLen})`);
  return out;
}

/** Parses a setting such as "none", "lz4", "zstd" or "zstd:6". */
export function parseCodec(text: string): CodecSpec {
  const m = /^(none|lz4|zstd)(?::(\d{1,2}))?$/.exec(text.trim());
  const name = m?.[1] as CodecName | undefined;
  if (!m || !name) throw new Error(`unknown codec "${text}": use none, lz4, zstd or zstd:LEVEL (1-${ZSTD_MAX_LEVEL})`);
  if (m[2] === undefined) return { name };
  const level = Number(m[2]);
  if (name !== "zstd") throw new Error(`codec "${text}": only zstd takes a level`);
  if (level < 1 || level > ZSTD_MAX_LEVEL) throw new Error(`codec "${text}": zstd level must be 1-${ZSTD_MAX_LEVEL}`);
  return { name, level };
}
