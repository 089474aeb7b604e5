/**
 * Directories below one open root, reached one name at a time (see dir-fd.ts), never through a
 * symlink. Opened directories are kept for the entries that follow (a restore arrives parents before
 * children), so a directory swapped for a symlink after it was opened changes nothing: the writer
 * keeps using the directory it checked.
 */
import { mkdirSync } from "node:fs";
import { DirFd } from "./dir-fd.js";

/** Open directories kept between calls; more are closed at the next trim(), least recently used first. */
const KEEP_OPEN = 256;

export function splitParent(rel: string): { parent: string; name: string } {
  const i = rel.lastIndexOf("/");
  return i < 0 ? { parent: "", name: rel } : { parent: rel.slice(0, i), name: rel.slice(i + 1) };
}

export class DirTree {
  private readonly open = new Map<string, DirFd>();

  constructor(readonly root: DirFd) {}

  /**
   * The directory at `rel` ("" is the root), opened step by step from the root. Missing directories
   * are created (mode 0700 until their metadata is applied) when `create` is set. Descriptors
   * returned stay valid until the next trim().
   */
  get(rel: string, create: boolean): DirFd {
    if (rel === "") return this.root;
    const cached = this.open.get(rel);
    if (cached) {
      this.open.delete(rel);
      this.open.set(rel, cached);
      return cached;
    }
    const { parent, name } = splitParent(rel);
    const up = this.get(parent, create);
    let dir: DirFd;
    try {
      dir = DirFd.openAt(up, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || !create) throw err;
      try {
        mkdirSync(up.at(name), { mode: 0o700 });
      } catch (mkErr) {
        if ((mkErr as NodeJS.ErrnoException).code !== "EEXIST") throw mkErr;
      }
      dir = DirFd.openAt(up, name);
    }
    this.open.set(rel, dir);
    return dir;
  }

  /** Closes the least recently used directories beyond KEEP_OPEN; call between entries, never mid-use. */
  trim(): void {
    for (const [rel, dir] of this.open) {
      if (this.open.size <= KEEP_OPEN) return;
      dir.close();
      this.open.delete(rel);
    }
  }

  close(): void {
    for (const dir of this.open.values()) dir.close();
    this.open.clear();
    this.root.close();
  }
}
