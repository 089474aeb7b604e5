/**
 * Writes restored entries under a target directory.
 *
 * Entry paths come from the master, which may itself read a damaged store, so every path is checked:
 * relative, no "..", and no parent that is a symlink (a snapshot holding "a -> /etc" and "a/passwd"
 * must not write /etc/passwd). Symlinks are created last for the same reason, and directory metadata
 * is applied deepest-first after all contents, so read-only directories can still be filled.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, constants, ftruncateSync, lchownSync, lutimesSync, openSync, utimesSync, writeSync } from "node:fs";
import { link, lstat, mkdir, realpath, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { assertRelativePath, ROOT_PATH, type Entry } from "@pullback/common";

export interface RestoreWriterOptions {
  /** Restore numeric owners (needs root); default: when running as root. */
  owners?: boolean;
  /** Apply the snapshot root's metadata to the target directory (default true). */
  rootMeta?: boolean;
  /** Replace files that already exist in the target; otherwise they are refused (default false). */
  overwrite?: boolean;
}

export interface FileSink {
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Applies metadata; must be called once all data is written. */
  close(): Promise<void>;
  /** Closes without metadata after a failure; the partial file stays for the operator to see. */
  abort(): Promise<void>;
}

function nsToSeconds(ns: string): number {
  // fs.utimes takes fractional seconds as a double: microsecond precision at today's epoch values.
  const n = BigInt(ns);
  return Number(n / 1000n) / 1e6;
}

export class RestoreWriter {
  private root = "";
  private readonly safeDirs = new Set<string>([""]);
  private readonly dirs: Entry[] = [];
  private readonly symlinks: Entry[] = [];
  private readonly owners: boolean;

  constructor(
    private readonly target: string,
    private readonly opts: RestoreWriterOptions = {},
  ) {
    this.owners = opts.owners ?? process.getuid?.() === 0;
  }

  async begin(): Promise<void> {
    await mkdir(this.target, { recursive: true });
    this.root = await realpath(this.target);
  }

  private abs(rel: string): string {
    return rel === ROOT_PATH ? this.root : join(this.root, rel);
  }

  /** Ensures every directory above `rel` exists and is a real directory, not a symlink. */
  private async ensureParent(rel: string): Promise<void> {
    if (rel === ROOT_PATH) return;
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    if (this.safeDirs.has(parent)) return;
    await this.ensureParent(parent);
    const abs = this.abs(parent);
    const st = await lstat(abs).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return null;
      throw err;
    });
    if (st === null) await mkdir(abs, { mode: 0o700 });
    else if (!st.isDirectory()) {
      throw new Error(`refusing to restore under ${parent}: it exists in the target and is not a directory (a symlink?)`);
    }
    this.safeDirs.add(parent);
  }

  /** Creates a non-file entry, or prepares nothing for files (see openFile). */
  async entry(e: Entry): Promise<void> {
    assertRelativePath(e.path);
    await this.ensureParent(e.path);
    const abs = this.abs(e.path);
    switch (e.type) {
      case "dir": {
        const st = await lstat(abs).catch(() => null);
        if (st && !st.isDirectory()) throw new Error(`cannot restore directory ${e.path}: a non-directory exists there`);
        if (!st) await mkdir(abs, { mode: 0o700 });
        // The target is the operator's directory: it takes the source root's metadata only on request.
        if (e.path === ROOT_PATH && this.opts.rootMeta === false) return;
        this.safeDirs.add(e.path);
        this.dirs.push(e);
        return;
      }
      case "symlink":
        this.symlinks.push(e);
        return;
      case "hardlink": {
        if (e.target === undefined) throw new Error(`hardlink ${e.path} has no target`);
        assertRelativePath(e.target);
        await this.removeIfExists(abs, e.path);
        await link(this.abs(e.target), abs);
        return;
      }
      case "fifo":
      case "chardev":
      case "blockdev": {
        await this.removeIfExists(abs, e.path);
        const cmd = e.type === "fifo" ? "mkfifo" : "mknod";
        const args = ["-m", "600", abs];
        if (e.type !== "fifo") args.push(e.type === "chardev" ? "c" : "b", String(major(e.rdev ?? 0)), String(minor(e.rdev ?? 0)));
        // Node has no mkfifo/mknod; these coreutils are on every Linux node.
        const r = spawnSync(cmd, args, { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`cannot create ${e.type} ${e.path}: ${(r.stderr || r.error?.message || "").trim()}`);
        this.applyMeta(e);
        return;
      }
      case "file":
        throw new Error("files are restored with openFile()");
      case "socket":
        return;
    }
  }

  /** Creates (or truncates) a regular file at its full size, holes included, and returns a sink for its data. */
  async openFile(e: Entry): Promise<FileSink> {
    assertRelativePath(e.path);
    await this.ensureParent(e.path);
    const abs = this.abs(e.path);
    // Synchronous syscalls for the per-file work: through the thread pool, eight round trips per
    // file made restores of many small files mostly wait (futex contention), not write.
    let fd: number;
    try {
      const mode = this.opts.overwrite ? constants.O_TRUNC : constants.O_EXCL;
      fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | mode, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`${e.path} already exists in the target; restore with --overwrite to replace it`);
      throw new Error(`cannot create ${e.path}: ${(err as Error).message}`);
    }
    // Truncating up front makes every region that is not written a hole.
    ftruncateSync(fd, e.size);
    let open = true;
    return {
      write: async (offset, data) => {
        let done = 0;
        while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
      },
      close: async () => {
        open = false;
        closeSync(fd);
        this.applyMeta(e);
      },
      abort: async () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  }

  private applyMeta(e: Entry): void {
    const abs = this.abs(e.path);
    if (e.type === "symlink") {
      if (this.owners) lchownSync(abs, e.uid, e.gid);
      lutimesSync(abs, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
      return;
    }
    if (this.owners) lchownSync(abs, e.uid, e.gid);
    // chmod after chown: chown clears setuid/setgid bits.
    chmodSync(abs, e.mode);
    utimesSync(abs, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
  }

  private async removeIfExists(abs: string, rel: string): Promise<void> {
    const st = await lstat(abs).catch(() => null);
    if (!st) return;
    if (st.isDirectory()) throw new Error(`cannot replace directory ${abs} with a non-directory`);
    if (!this.opts.overwrite) throw new Error(`${rel} already exists in the target; restore with --overwrite to replace it`);
    await rm(abs);
  }

  /**
   * Creates symlinks, then applies directory metadata deepest-first. Returns one line per entry that
   * could not be finished, so one bad entry does not stop the rest.
   */
  async finish(): Promise<string[]> {
    const problems: string[] = [];
    for (const e of this.symlinks) {
      try {
        await this.ensureParent(e.path);
        const abs = this.abs(e.path);
        await this.removeIfExists(abs, e.path);
        await symlink(e.target ?? "", abs);
        this.applyMeta(e);
      } catch (err) {
        problems.push(`${e.path}: ${(err as Error).message}`);
      }
    }
    const dirs = [...this.dirs].sort((a, b) => b.path.split("/").length - a.path.split("/").length);
    for (const d of dirs) {
      try {
        this.applyMeta(d);
      } catch (err) {
        problems.push(`${d.path}: ${(err as Error).message}`);
      }
    }
    return problems;
  }
}

// Linux dev_t encoding (glibc's gnu_dev_major/minor).
function major(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}
function minor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}
