/**
 * Per-chunk compression, and the one table of codecs: every place that names, validates, stores or
 * decodes a codec reads `CODECS` (CLI flags and config through parseCodec, the wire through
 * isCodecName, the chunk file header through `storeByte`). A new codec is one entry here.
 *
 * A chunk is stored compressed only when that saves space; otherwise it is stored as is ("none"), so
 * incompressible data (media, encrypted files) costs no decode time. The codec name is recorded with
 * the chunk, so a store can mix codecs and a source's setting can change at any time.
 *
 * Libraries (docs/decisions.md, "Codecs"): both ship prebuilt Node-API binaries inside registry
 * packages, because agents are installed on production nodes that have no compiler, and both can
 * compress on libuv's thread pool, so the agent compresses on a second core while it reads and hashes.
 * - lz4: `lz4-napi` (lz4_flex). Stored form: 4-byte little-endian plain length, then one LZ4 block.
 * - zstd: `@toondepauw/node-zstd` (zstd via Rust) compresses; it decodes without an output limit, so
 *   decoding goes through `zstd-codec` (WebAssembly) with a hard limit (zstd-bounded.ts). Stored
 *   form: one standard zstd frame.
 */
import { ConfigError, DamagedDataError } from "./errors.js";
import { initBoundedZstd, zstdDecodeBounded } from "./zstd-bounded.js";
import { lz4Lib, zstdAsyncEncode, zstdEncoder, zstdLib } from "./codec-native.js";

export type CodecName = "none" | "lz4" | "zstd";

export interface CodecSpec {
  name: CodecName;
  /** zstd: 1..19 (default 3). lz4 and none take no level. */
  level?: number;
}

export const ZSTD_DEFAULT_LEVEL = 3;
const ZSTD_MAX_LEVEL = 19;

export interface Codec {
  /** As written in settings, on the wire (Chunk.codec) and in manifests' codec fields. */
  name: CodecName;
  /** The byte naming it in a stored chunk's header: fixed forever, never reused. */
  storeByte: number;
  /** The highest level it takes, or 0 for a codec without levels. */
  maxLevel: number;
  encodeSync(plain: Buffer, level: number): Buffer;
  /** On libuv's thread pool; `plain` must not be reused until the promise settles. */
  encode(plain: Buffer, level: number): Promise<Buffer>;
  /**
   * Exactly `plainLen` bytes or an Error naming the codec. Bounded: never allocates more than the
   * caller's `plainLen` whatever the data claims, because chunks come from untrusted agents.
   */
  decode(data: Buffer, plainLen: number): Buffer;
}

/** Keyed by name so the compiler insists every CodecName has an entry. */
const TABLE: { readonly [K in CodecName]: Codec } = {
  none: {
    name: "none",
    storeByte: 0,
    maxLevel: 0,
    encodeSync: (plain) => plain,
    encode: async (plain) => plain,
    decode(data, plainLen) {
      if (data.length !== plainLen) throw new DamagedDataError(`stored chunk has ${data.length} bytes, expected ${plainLen}`);
      return data;
    },
  },
  lz4: {
    name: "lz4",
    storeByte: 1,
    maxLevel: 0,
    encodeSync: (plain) => lz4Lib().compressSync(plain),
    encode: (plain) => lz4Lib().compress(plain),
    decode(data, plainLen) {
      // Checked before decoding: the library would otherwise allocate whatever the prefix claims.
      const claimed = data.length >= 4 ? data.readUInt32LE(0) : -1;
      // A plain Error, like checked()'s: codec.test.ts pins the name ("Error: lz4: corrupt chunk").
      if (claimed !== plainLen) throw new Error(`lz4: corrupt chunk (length prefix ${claimed}, expected ${plainLen})`);
      return checked("lz4", plainLen, () => lz4Lib().uncompressSync(data));
    },
  },
  zstd: {
    name: "zstd",
    storeByte: 2,
    maxLevel: ZSTD_MAX_LEVEL,
    encodeSync: (plain, level) => zstdEncoder(level).encodeSync(plain),
    encode: (plain, level) => zstdAsyncEncode(plain, level),
    decode: (data, plainLen) => checked("zstd", plainLen, () => zstdDecodeBounded(data, plainLen)),
  },
};

export const CODECS: readonly Codec[] = Object.values(TABLE);
export const CODEC_NAMES: readonly CodecName[] = CODECS.map((c) => c.name);

/** For names from the wire or a file: false for anything not in the table (also "constructor" etc.). */
export function isCodecName(name: string): name is CodecName {
  return (CODEC_NAMES as readonly string[]).includes(name);
}

export function codecNamed(name: CodecName): Codec {
  return TABLE[name];
}

export function codecOfStoreByte(byte: number): Codec | undefined {
  return CODECS.find((c) => c.storeByte === byte);
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
  return worthIt(plain, TABLE[spec.name].encodeSync(plain, spec.level ?? ZSTD_DEFAULT_LEVEL), spec.name);
}

/**
 * `compress` on libuv's thread pool, so the caller can go on reading and hashing meanwhile. `plain`
 * is read by another thread until the promise settles: it must not be a buffer that is reused.
 */
export async function compressAsync(plain: Buffer, spec: CodecSpec): Promise<Compressed> {
  if (spec.name === "none" || plain.length < MIN_COMPRESS) return { codec: "none", data: plain };
  return worthIt(plain, await TABLE[spec.name].encode(plain, spec.level ?? ZSTD_DEFAULT_LEVEL), spec.name);
}

function worthIt(plain: Buffer, out: Buffer, codec: CodecName): Compressed {
  if (out.length > plain.length - (plain.length >> 5)) return { codec: "none", data: plain };
  return { codec, data: out };
}

/**
 * Decompress one stored chunk whose plain length the caller knows from the manifest or the wire.
 * Throws an error naming the codec for data that is corrupt or does not decode to `plainLen` bytes.
 * Most callers want decodeVerified (chunk-verify.ts), which also checks the content's SHA-256.
 */
export function decompress(codec: CodecName, data: Buffer, plainLen: number): Buffer {
  if (!isCodecName(codec)) throw new DamagedDataError(`unknown codec "${String(codec)}" in stored chunk`);
  return TABLE[codec].decode(data, plainLen);
}

/**
 * The decoded bytes, which must be exactly `plainLen`. Its errors stay plain Errors named "Error"
 * (codec.test.ts asserts "Error: zstd: corrupt chunk"), carry no hint and are not operator-facing:
 * decodeVerified wraps them into DamagedChunkError, which says what to do.
 */
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

/** "none, lz4, zstd or zstd:LEVEL": what a codec setting may be, for error messages. */
export const CODEC_SETTINGS = [...CODEC_NAMES, ...CODECS.filter((c) => c.maxLevel > 0).map((c) => `${c.name}:LEVEL`)]
  .join(", ")
  .replace(/, ([^,]*)$/, " or $1");

const SETTING = new RegExp(`^(${CODEC_NAMES.join("|")})(?::(\\d{1,2}))?$`);

/** Parses a setting such as "none", "lz4", "zstd" or "zstd:6" (CLI flags, master.yaml, the wire). */
export function parseCodec(text: string): CodecSpec {
  const m = SETTING.exec(text.trim());
  const name = m?.[1] as CodecName | undefined;
  if (!m || !name) throw new ConfigError(`unknown codec "${text}": use ${CODEC_SETTINGS} (1-${ZSTD_MAX_LEVEL})`);
  if (m[2] === undefined) return { name };
  const level = Number(m[2]);
  const { maxLevel } = TABLE[name];
  if (maxLevel === 0) throw new ConfigError(`codec "${text}": only ${CODECS.filter((c) => c.maxLevel > 0).map((c) => c.name).join(", ")} takes a level`);
  if (level < 1 || level > maxLevel) throw new ConfigError(`codec "${text}": ${name} level must be 1-${maxLevel}`);
  return { name, level };
}

/** Whether parseCodec accepts `text`: the one rule for settings in master.yaml and on the CLI. */
export function isCodecSetting(text: string): boolean {
  try {
    parseCodec(text);
    return true;
  } catch {
    return false;
  }
}
