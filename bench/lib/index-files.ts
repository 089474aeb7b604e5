/**
 * (a) What ChunkStore.has answers from today: the file system itself, one file per chunk under
 * ab/cd/<hex id>, asked with lstat. The files here are empty (a lookup never reads a chunk); the
 * page cache is warm, so this is the best case: a cold tree of millions of files costs disk seeks.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, lstatSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IndexCandidate } from "./index-candidate.js";
import { idAt, type Probe } from "./index-ids.js";

export class ChunkFilesIndex implements IndexCandidate {
  private readonly root = mkdtempSync(join(tmpdir(), "pullback-index-files-"));

  private pathOf(hex: string): string {
    return join(this.root, hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  async build(ids: Buffer, n: number): Promise<void> {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) mkdirSync(join(this.root, hex2(a), hex2(b)), { recursive: true });
    }
    for (let i = 0; i < n; i++) closeSync(openSync(this.pathOf(idAt(ids, i).toString("hex")), "w"));
  }

  async lookup(batch: Probe): Promise<number> {
    let found = 0;
    for (const h of batch.hex) if (lstatSync(this.pathOf(h), { throwIfNoEntry: false })) found++;
    return found;
  }

  /** Directory blocks only: the chunk files are empty here. */
  async diskBytes(): Promise<undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const hex2 = (x: number): string => x.toString(16).padStart(2, "0");
