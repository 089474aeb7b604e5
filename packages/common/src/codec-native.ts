/**
 * Loading of the native compression libraries (codec.ts says which and why), kept apart from the
 * codec table so the table reads as a list. Each library loads on first use, or at initCodecs().
 */
import { createRequire } from "node:module";
import { CodecUnavailableError } from "./errors.js";

const require = createRequire(import.meta.url);

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
    throw new CodecUnavailableError(
      `the ${codec} codec is unavailable: package "${pkg}" did not load (${(err as Error).message.split("\n")[0]})`,
      `reinstall with optional dependencies enabled so its prebuilt binary for ${process.platform}-${process.arch} is present`,
    );
  }
}

export function lz4Lib(): Lz4Lib {
  return (lz4 ??= loadNative<Lz4Lib>("lz4-napi", "lz4"));
}

export function zstdLib(): ZstdLib {
  return (zstd ??= loadNative<ZstdLib>("@toondepauw/node-zstd", "zstd"));
}

export function zstdEncoder(level: number): ZstdEncoder {
  let e = zstdEncoders.get(level);
  if (!e) {
    e = new (zstdLib().Encoder)(level);
    zstdEncoders.set(level, e);
  }
  return e;
}

export async function zstdAsyncEncode(plain: Buffer, level: number): Promise<Buffer> {
  let idle = idleAsyncEncoders.get(level);
  if (!idle) idleAsyncEncoders.set(level, (idle = []));
  const encoder = idle.pop() ?? new (zstdLib().Encoder)(level);
  try {
    return await encoder.encode(plain);
  } finally {
    idle.push(encoder);
  }
}
