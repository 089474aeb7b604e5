/**
 * zstd decoding with a hard output limit, for chunks from untrusted agents.
 *
 * The fast native binding decodes whatever a frame describes (a few KB can expand to hundreds of
 * MB), and a bound read from block headers cannot work: zstd's block splitter legitimately emits
 * many small blocks, so a real frame may "look" 7x or more larger than it is. Instead the frame's
 * header is made to declare the size the chunk must have (the manifest or the wire says it), and the
 * WebAssembly build of zstd decodes it with its single-shot API into a buffer of exactly that size:
 * a frame that would produce more fails at the first byte too many.
 */
import { createRequire } from "node:module";
import { DamagedDataError } from "./errors.js";

const require = createRequire(import.meta.url);
const MAGIC = 0xfd2fb528;

interface SimpleCodec {
  decompress(data: Uint8Array): Uint8Array | null;
}

let simple: SimpleCodec | undefined;
let ready: Promise<void> | undefined;

export function initBoundedZstd(): Promise<void> {
  ready ??= new Promise((resolve) => {
    const { ZstdCodec } = require("zstd-codec") as { ZstdCodec: { run(cb: (z: { Simple: new () => SimpleCodec }) => void): void } };
    ZstdCodec.run((z) => {
      simple = new z.Simple();
      resolve();
    });
  });
  return ready;
}

/**
 * The frame with a Frame_Content_Size field equal to `plainLen` (RFC 8878, 3.1.1.1). A frame that
 * already declares a size must declare exactly this one.
 */
export function declareContentSize(frame: Buffer, plainLen: number): Buffer {
  if (frame.length < 6 || frame.readUInt32LE(0) !== MAGIC) throw new DamagedDataError("not a zstd frame");
  const fhd = frame[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const didBytes = [0, 1, 2, 4][fhd & 3]!;
  if ((fhd >> 3) & 1) throw new DamagedDataError("zstd frame header uses a reserved bit");
  const fieldAt = 5 + (singleSegment ? 0 : 1) + didBytes;
  if (fcsFlag !== 0 || singleSegment) {
    const size = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    if (frame.length < fieldAt + size) throw new DamagedDataError("zstd frame is truncated");
    const declared =
      size === 1 ? frame[fieldAt]! : size === 2 ? frame.readUInt16LE(fieldAt) + 256 : size === 4 ? frame.readUInt32LE(fieldAt) : Number(frame.readBigUInt64LE(fieldAt));
    if (declared !== plainLen) throw new DamagedDataError(`frame declares ${declared} bytes, expected ${plainLen}`);
    return frame;
  }
  // No size field: add a 4-byte one. The blocks that follow are unchanged.
  const out = Buffer.allocUnsafe(frame.length + 4);
  frame.copy(out, 0, 0, fieldAt);
  out[4] = (fhd & 0x3f) | (2 << 6);
  out.writeUInt32LE(plainLen, fieldAt);
  frame.copy(out, fieldAt + 4, fieldAt);
  return out;
}

/**
 * Decodes one frame into exactly `plainLen` bytes, or throws DamagedDataError; without a hint,
 * because the caller (decodeVerified, through codec.ts) reports it as a damaged chunk with the remedy.
 */
export function zstdDecodeBounded(frame: Buffer, plainLen: number): Buffer {
  if (!simple) throw new Error("internal error: zstd decoder used before initCodecs() resolved — please report");
  const out = simple.decompress(declareContentSize(frame, plainLen));
  if (!out || out.byteLength !== plainLen) throw new DamagedDataError(`frame does not decode to exactly ${plainLen} bytes`);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
