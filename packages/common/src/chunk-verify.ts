/**
 * The one gate a chunk passes before its bytes are trusted: decode within bounds, then compare the
 * SHA-256 of the plain bytes with the id it claims. Used wherever encoded chunk bytes arrive — from
 * an agent (the master's snapshot writer), from disk (the chunk store), from the master (the
 * agent's file and database restores) — so all four apply the same bounds and report the same way.
 */
import { isCodecName, codecNamed } from "./codec.js";
import { DamagedChunkError } from "./errors.js";
import { chunkId } from "./hash.js";

/** No chunker cuts bigger chunks (chunker.ts refuses such parameters). */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

export interface ChunkLimits {
  /** The plain length a chunk may claim; the decoder allocates at most this. */
  minPlainLen: number;
  maxPlainLen: number;
}

export const CHUNK_LIMITS: ChunkLimits = { minPlainLen: 0, maxPlainLen: MAX_CHUNK_BYTES };
/** A backup stream never carries an empty chunk (an empty file has none). */
export const AGENT_CHUNK_LIMITS: ChunkLimits = { minPlainLen: 1, maxPlainLen: MAX_CHUNK_BYTES };


/**
 * The plain bytes of chunk `id`, decoded from `data` in `codec` (a name as received, not yet
 * trusted) to exactly `plainLen` bytes and checked against the id; else DamagedChunkError.
 */
export function decodeVerified(id: string, codec: string, data: Buffer, plainLen: number, limits: ChunkLimits = CHUNK_LIMITS): Buffer {
  if (!Number.isInteger(plainLen) || plainLen < limits.minPlainLen || plainLen > limits.maxPlainLen) {
    throw new DamagedChunkError(id, "implausible-length", `implausible length ${plainLen}`);
  }
  if (!isCodecName(codec)) throw new DamagedChunkError(id, "unknown-codec", `unknown codec ${codec}`);
  let plain: Buffer;
  try {
    plain = codecNamed(codec).decode(data, plainLen);
  } catch (err) {
    throw new DamagedChunkError(id, "undecodable", `cannot decode: ${(err as Error).message}`);
  }
  if (chunkId(plain) !== id) throw new DamagedChunkError(id, "hash-mismatch", "content does not match its SHA-256");
  return plain;
}
