/**
 * Writes restored entries under a target directory.
 *
 * Entry paths come from the master, which may itself read a damaged store, so every path is checked:
 * relative, no "..", and no parent that is a symlink (a snapshot holding "a -> /etc" and "a/passwd"
 * must not write /etc/passwd). Symlinks are created last for the same reason, and directory metadata
 * is applied deepest-first after all contents, so read-only directories can still be filled.
 *
 * A local user may own directories in the target and swap them while the restore runs. So every
 * directory is opened one name at a time from the target's open descriptor (safe-fs/dir-tree.ts),
 * files are created O_EXCL|O_NOFOLLOW inside their parent's descriptor (an existing file is unlinked
 * first, never truncated: it could be a hard link to a file elsewhere), and owner, mode and times are
 * set on the open descriptor, not by path.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  realpathSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { assertRelativePath, DAMAGED_MANIFEST_HINT, DamagedDataError, ROOT_PATH, type Entry } from "@pullback/common";
import { ChangedError, RestoreConflictError, RestoreWriteError } from "../errors.js";
import { DirFd, type DevIno } from "../safe-fs/dir-fd.js";
import { DirTree, splitParent } from "../safe-fs/dir-tree.js";
import { raceHook } from "../safe-fs/race-hook.js";
import { specialPolicy, type SpecialNotice, type SpecialPolicy } from "./special-files.js";

export interface RestoreWriterOptions {
  /** Restore numeric owners (needs root); default: when running as root. */
  owners?: boolean;
  /** Apply the snapshot root's metadata to the target directory (default true). */
  rootMeta?: boolean;
  /** Replace files that already exist in the target; otherwise they are refused (default false). */
  overwrite?: boolean;
  /**
   * Keep setuid/setgid bits and restore device nodes as the snapshot has them. Default false: bits
   * stripped and devices skipped, each reported, because the master sets it only for a restore onto
   * the node the snapshot came from (or when the operator asks with --keep-special).
   */
  keepSpecial?: boolean;
  /** Told about each setuid/setgid bit stripped and each device node skipped. */
  onSpecial?(n: SpecialNotice): void;
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

interface DirMeta {
  entry: Entry;
  /** The directory checked when its entry arrived: metadata goes to it or to nothing. */
  id: DevIno;
}

export class RestoreWriter {
  private tree: DirTree | null = null;
  private readonly dirs: DirMeta[] = [];
  private readonly symlinks: Entry[] = [];
  private readonly owners: boolean;
  private readonly special: SpecialPolicy;

  constructor(
    private readonly target: string,
    private readonly opts: RestoreWriterOptions = {},
  ) {
    this.owners = opts.owners ?? process.getuid?.() === 0;
    this.special = specialPolicy(opts.keepSpecial ?? false, (n) => opts.onSpecial?.(n));
  }

  async begin(): Promise<void> {
    mkdirSync(this.target, { recursive: true });
    // The target itself is the operator's choice (a symlink there is theirs); below it nothing is followed.
    this.tree = new DirTree(DirFd.openPath(realpathSync(this.target)));
  }

  private get dirTree(): DirTree {
    if (!this.tree) throw new Error("internal error: RestoreWriter.begin() was not called — please report");
    return this.tree;
  }

  /** The open directory that holds `rel`, created if missing, and `rel`'s own name in it. */
  private parentOf(rel: string): { dir: DirFd; name: string } {
    const { parent, name } = splitParent(rel);
    try {
      return { dir: this.dirTree.get(parent, true), name };
    } catch (err) {
      if (err instanceof ChangedError) {
        throw new RestoreConflictError(`refusing to restore under ${parent}: it exists in the target and is not a directory (a symlink?)`);
      }
      throw err;
    }
  }

  /** Creates a non-file entry, or prepares nothing for files (see openFile). */
  async entry(e: Entry): Promise<void> {
    assertRelativePath(e.path);
    this.dirTree.trim();
    switch (e.type) {
      case "dir": {
        if (raceHook.beforeOpen) await raceHook.beforeOpen("dir", e.path);
        // The target is the operator's directory: it takes the source root's metadata only on request.
        if (e.path === ROOT_PATH) {
          if (this.opts.rootMeta !== false) this.dirs.push({ entry: e, id: this.dirTree.root.stat });
          return;
        }
        let dir: DirFd;
        try {
          dir = this.dirTree.get(e.path, true);
        } catch (err) {
          if (err instanceof ChangedError) throw new RestoreConflictError(`cannot restore directory ${e.path}: a non-directory exists there`);
          throw err;
        }
        this.dirs.push({ entry: e, id: dir.stat });
        return;
      }
      case "symlink":
        this.symlinks.push(e);
        return;
      case "hardlink": {
        if (e.target === undefined) throw new DamagedDataError(`hardlink ${e.path} has no target`, DAMAGED_MANIFEST_HINT);
        assertRelativePath(e.target);
        const from = this.parentOf(e.target);
        const fromPath = from.dir.at(from.name);
        const { dir, name } = this.parentOf(e.path);
        this.removeIfExists(dir, name, e.path);
        // linkat() without AT_SYMLINK_FOLLOW: a symlink swapped in at the target is linked, not followed.
        linkSync(fromPath, dir.at(name));
        return;
      }
      case "fifo":
      case "chardev":
      case "blockdev": {
        if (!this.special.allowsDevice(e)) return;
        const mode = this.special.mode(e);
        const { dir, name } = this.parentOf(e.path);
        this.removeIfExists(dir, name, e.path);
        const cmd = e.type === "fifo" ? "mkfifo" : "mknod";
        // The child gets the directory as its fd 3, so it creates NAME in that directory and no other.
        // -m sets the mode without following a symlink (coreutils uses lchmod), so no chmod by path later.
        const args = ["-m", (mode & 0o7777).toString(8), `/proc/self/fd/3/${name}`];
        if (e.type !== "fifo") args.push(e.type === "chardev" ? "c" : "b", String(major(e.rdev ?? 0)), String(minor(e.rdev ?? 0)));
        // Node has no mkfifo/mknod; these coreutils are on every Linux node.
        const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "ignore", "pipe", dir.fd] });
        if (r.status !== 0) {
          const why = (r.stderr || r.error?.message || "").trim();
          throw new RestoreWriteError(`cannot create ${e.type} ${e.path}: ${why}`, e.type === "fifo" ? "check that the agent may write to the target" : "device files can be created only by an agent running as root");
        }
        this.applyLinkMeta(dir, name, e);
        return;
      }
      case "file":
        throw new Error("internal error: files are restored with openFile() — please report");
      case "socket":
        return;
    }
  }

  /** Creates a regular file at its full size, holes included, and returns a sink for its data. */
  async openFile(e: Entry): Promise<FileSink> {
    assertRelativePath(e.path);
    this.dirTree.trim();
    if (raceHook.beforeOpen) await raceHook.beforeOpen("file", e.path);
    const { dir, name } = this.parentOf(e.path);
    const mode = this.special.mode(e);
    // Synchronous syscalls for the per-file work: through the thread pool, eight round trips per
    // file made restores of many small files mostly wait (futex contention), not write.
    let fd: number;
    try {
      if (this.opts.overwrite) this.removeIfExists(dir, name, e.path);
      fd = openSync(dir.at(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw RestoreConflictError.exists(e.path);
      throw new RestoreWriteError(`cannot create ${e.path}: ${(err as Error).message}`, "check that the agent may write to the target and that its disk has room");
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
        try {
          this.applyFdMeta(fd, e, mode);
        } finally {
          closeSync(fd);
        }
      },
      abort: async () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  }

  /** Owner, mode and times on an open file or directory: nothing a path swap could redirect. */
  private applyFdMeta(fd: number, e: Entry, mode: number): void {
    if (this.owners) fchownSync(fd, e.uid, e.gid);
    // chmod after chown: chown clears setuid/setgid bits.
    fchmodSync(fd, mode);
    futimesSync(fd, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
  }

  /** Owner and times on a symlink or special file by name in its open parent: lchown/lutimes never follow it. */
  private applyLinkMeta(dir: DirFd, name: string, e: Entry): void {
    const at = dir.at(name);
    if (this.owners) lchownSync(at, e.uid, e.gid);
    lutimesSync(at, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
  }

  private removeIfExists(dir: DirFd, name: string, rel: string): void {
    const at = dir.at(name);
    let st;
    try {
      st = lstatSync(at);
    } catch {
      return;
    }
    if (st.isDirectory()) throw new RestoreConflictError(`cannot replace directory ${join(this.target, rel)} with a non-directory`);
    if (!this.opts.overwrite) throw RestoreConflictError.exists(rel);
    unlinkSync(at);
  }

  /**
   * Creates symlinks, then applies directory metadata deepest-first. Returns one line per entry that
   * could not be finished, so one bad entry does not stop the rest.
   */
  async finish(): Promise<string[]> {
    const problems: string[] = [];
    for (const e of this.symlinks) {
      try {
        this.dirTree.trim();
        const { dir, name } = this.parentOf(e.path);
        this.removeIfExists(dir, name, e.path);
        symlinkSync(e.target ?? "", dir.at(name));
        this.applyLinkMeta(dir, name, e);
      } catch (err) {
        problems.push(`${e.path}: ${(err as Error).message}`);
      }
    }
    const dirs = [...this.dirs].sort((a, b) => b.entry.path.split("/").length - a.entry.path.split("/").length);
    for (const d of dirs) {
      try {
        this.dirTree.trim();
        const path = d.entry.path === ROOT_PATH ? "" : d.entry.path;
        const dir = this.dirTree.get(path, false);
        if (!dir.sameAs(d.id)) throw new ChangedError("replaced by another directory during the restore; its metadata was not applied");
        this.applyFdMeta(dir.fd, d.entry, this.special.mode(d.entry));
      } catch (err) {
        problems.push(`${d.entry.path}: ${(err as Error).message}`);
      }
    }
    this.close();
    return problems;
  }

  /** Releases the open directories; finish() does it, call it directly when a restore is abandoned. */
  close(): void {
    this.tree?.close();
    this.tree = null;
  }
}

// Linux dev_t encoding (glibc's gnu_dev_major/minor).
function major(dev: number): number {
  return Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
}
function minor(dev: number): number {
  return Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
}
