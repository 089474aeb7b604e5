import { createHash } from "node:crypto";

/** Chunk ids are the hex SHA-256 of the plain (uncompressed) bytes. */
export function chunkId(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const HEX64 = /^[0-9a-f]{64}$/;
export function isChunkId(s: string): boolean {
  return HEX64.test(s);
}
