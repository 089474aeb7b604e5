/**
 * Builds the tree every round-trip test uses: the awkward things real file systems hold.
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, linkSync, mkdirSync, openSync, closeSync, writeSync, ftruncateSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./tools.js";

export interface TreeOptions {
  /** Size of the large file in MiB (the issue asks for ≥ 200). */
  largeMiB: number;
  /** Apparent size of the sparse file in MiB. */
  sparseMiB: number;
  /**
   * Makes the large file the same bytes on every run. A test whose bound depends on where the
   * chunker cuts (how much a local change re-stores) needs it, or it passes or fails by chance.
   */
  seed?: string;
}

/** Pseudo-random bytes from a seed: an AES-128-CTR keystream, the same on every run. */
export class SeededStream {
  private readonly cipher;
  constructor(seed: string) {
    this.cipher = createCipheriv("aes-128-ctr", createHash("sha256").update(seed).digest().subarray(0, 16), Buffer.alloc(16));
  }
  /** The next `n` bytes of the stream. */
  next(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }
}

/** Writes random data in 1 MiB pieces so building a large file needs little memory (seeded: the same every run). */
export function writeRandomFile(path: string, mib: number, seed?: string): void {
  const stream = seed === undefined ? null : new SeededStream(seed);
  const fd = openSync(path, "w");
  try {
    for (let i = 0; i < mib; i++) writeSync(fd, stream ? stream.next(1024 * 1024) : randomBytes(1024 * 1024));
  } finally {
    closeSync(fd);
  }
}

export function makeTrickyTree(root: string, o: TreeOptions): void {
  mkdirSync(join(root, "nested/deeper/deepest"), { recursive: true });
  mkdirSync(join(root, "empty-dir"));
  writeFileSync(join(root, "empty-file"), "");
  writeFileSync(join(root, "nested/deeper/deepest/note.txt"), "the deepest note\n".repeat(100));
  const text = Array.from({ length: 20000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join("");
  writeFileSync(join(root, "nested/text.txt"), text);
  writeRandomFile(join(root, "large.bin"), o.largeMiB, o.seed);

  // Sparse: apparent size sparseMiB, three islands of data.
  const sparse = join(root, "disk.img");
  const fd = openSync(sparse, "w");
  ftruncateSync(fd, o.sparseMiB * 1024 * 1024);
  for (const at of [0, Math.floor(o.sparseMiB / 3), o.sparseMiB - 1]) writeSync(fd, randomBytes(1024 * 1024), 0, 1024 * 1024, at * 1024 * 1024);
  closeSync(fd);

  symlinkSync("nested/text.txt", join(root, "link-to-text"));
  symlinkSync("/nonexistent/target", join(root, "dangling-link"));
  symlinkSync("deeper", join(root, "nested/dir-link"));
  linkSync(join(root, "nested/text.txt"), join(root, "hardlink-to-text"));
  linkSync(join(root, "nested/text.txt"), join(root, "nested/deeper/second-hardlink"));
  writeFileSync(join(root, "ünïcödé ñame with spaces.txt"), "unicode content ✓\n");
  writeFileSync(join(root, "日本語ファイル"), "japanese\n");
  run("mkfifo", [join(root, "a-fifo")]);

  writeFileSync(join(root, "secret.key"), "top secret\n");
  chmodSync(join(root, "secret.key"), 0o400);
  mkdirSync(join(root, "locked"));
  writeFileSync(join(root, "locked/inside"), "inside a locked dir\n");
  chmodSync(join(root, "locked"), 0o500);
  writeFileSync(join(root, "setgid-exec"), "#!/bin/sh\n");
  chmodSync(join(root, "setgid-exec"), 0o2755);

  // Old, distinct mtimes so a restore that forgets them shows up.
  utimesSync(join(root, "nested/text.txt"), new Date("2001-02-03T04:05:06Z"), new Date("2001-02-03T04:05:06Z"));
  utimesSync(join(root, "empty-dir"), new Date("2010-01-01T00:00:00Z"), new Date("2010-01-01T00:00:00Z"));
}
