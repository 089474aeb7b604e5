/**
 * An in-memory sample for the codec benchmark: fixed 1 MiB pieces per data class, the average chunk
 * size of FILE_CHUNKING, so per-call overhead weighs as it will in the agent.
 */
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { isPlainText, listFiles, rootsFor, type DataClass } from "./sources.js";

export const PIECE = 1024 * 1024;

export type Sample = Map<DataClass, Buffer[]>;

function piecesOf(cls: "text" | "binary", mib: number): Buffer[] {
  const budget = mib * PIECE;
  const files = listFiles(rootsFor(cls), budget, cls === "text" ? isPlainText : undefined);
  const whole = Buffer.allocUnsafe(budget);
  let at = 0;
  for (const f of files) {
    if (at >= budget) break;
    try {
      at += readFileSync(f.path).copy(whole, at);
    } catch {
      // unreadable file (permissions): skip it, the budget is filled by the next one
    }
  }
  const out: Buffer[] = [];
  for (let off = 0; off + PIECE <= at; off += PIECE) out.push(whole.subarray(off, off + PIECE));
  return out;
}

export function buildSample(mib: { text: number; binary: number; random: number }): Sample {
  const random: Buffer[] = [];
  for (let i = 0; i < mib.random; i++) random.push(randomBytes(PIECE));
  return new Map<DataClass, Buffer[]>([
    ["text", piecesOf("text", mib.text)],
    ["binary", piecesOf("binary", mib.binary)],
    ["random", random],
  ]);
}
