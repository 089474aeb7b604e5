/**
 * Where chunks live and how a chunk file is laid out: the only code that knows either, in the way
 * PBS's chunk_store.rs is. Everything else asks the ChunkStore by id.
 *
 * Layout: <chunks>/ab/cd/<id>, where <id> is the hex SHA-256 of the plain bytes and ab, cd are its
 * first four hex digits (65536 directories, so none grows large).
 * File: a 12-byte header — magic "PBCK", format version, codec (its store byte, codec.ts), two
 * reserved bytes, plain length (big-endian u32) — then the encoded bytes.
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { codecOfStoreByte, codecNamed, type CodecName } from "@pullback/common";
import { CorruptChunkError } from "../errors.js";

const MAGIC = 0x5042434b; // "PBCK"
const VERSION = 1;
export const HEADER_BYTES = 12;

export function chunkDir(root: string, id: string): string {
  return join(root, id.slice(0, 2), id.slice(2, 4));
}

export function chunkPath(root: string, id: string): string {
  return join(chunkDir(root, id), id);
}

/** Every chunk file under `root`, in directory order. */
export async function* chunkIdsUnder(root: string): AsyncGenerator<string> {
  for (const a of readdirSync(root)) {
    for (const b of readdirSync(join(root, a))) yield* readdirSync(join(root, a, b));
  }
}

/** Size and age of a chunk file, or undefined when there is none. */
export function chunkFileStat(root: string, id: string): { bytes: number; mtimeMs: number } | undefined {
  const st = lstatSync(chunkPath(root, id), { throwIfNoEntry: false });
  return st && { bytes: st.size, mtimeMs: st.mtimeMs };
}

export function encodeHeader(codec: CodecName, plainLen: number): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt8(VERSION, 4);
  header.writeUInt8(codecNamed(codec).storeByte, 5);
  header.writeUInt32BE(plainLen, 8);
  return header;
}

export interface RawChunk {
  codec: CodecName;
  plainLen: number;
  /** The encoded bytes, a view into the file's buffer. */
  data: Buffer;
}

/** The parts of chunk file `file`; the content is not decoded or verified here. */
export function parseChunkFile(id: string, file: Buffer): RawChunk {
  if (file.length < HEADER_BYTES || file.readUInt32BE(0) !== MAGIC || file.readUInt8(4) !== VERSION) {
    throw new CorruptChunkError(id, "bad header");
  }
  const codec = codecOfStoreByte(file.readUInt8(5));
  if (!codec) throw new CorruptChunkError(id, "unknown codec");
  return { codec: codec.name, plainLen: file.readUInt32BE(8), data: file.subarray(HEADER_BYTES) };
}
