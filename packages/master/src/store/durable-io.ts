/** Low-level durability for the store's files: complete writes, and syncs that cost one call. */
import { execFile } from "node:child_process";
import { writeSync, writevSync } from "node:fs";
import { open } from "node:fs/promises";

/**
 * Writes every byte or throws. writev may write only part and return the count, as it does on a
 * file system that fills up before it fails with ENOSPC; unchecked, that committed truncated
 * chunks (found by the full-disk test).
 */
export function writeFully(fd: number, parts: Uint8Array[]): void {
  let done = writevSync(fd, parts);
  for (const part of parts) {
    if (done >= part.length) {
      done -= part.length;
      continue;
    }
    for (let off = done; off < part.length; ) off += writeSync(fd, part, off, part.length - off);
    done = 0;
  }
}

/**
 * syncfs(2) through coreutils' `sync -f`: one call makes all of a file system's dirty data durable,
 * where an fsync per file costs a journal commit each. Falls back to fsyncing `paths` one by one.
 */
export async function syncFileSystem(anyPath: string, paths: string[]): Promise<void> {
  const ok = await new Promise<boolean>((resolve) => execFile("sync", ["-f", anyPath], (err) => resolve(!err)));
  if (ok) return;
  for (const p of paths) await fsyncPath(p);
}

export async function fsyncDir(dir: string): Promise<void> {
  await fsyncPath(dir);
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
