/**
 * Open directories as anchors for walks a local user cannot redirect.
 *
 * Node has no openat(). "/proc/self/fd/N/NAME" stands in for it: the kernel resolves /proc/self/fd/N
 * to the directory descriptor N holds, not to a path that may have been swapped since, so every step
 * starts from a directory already opened and checked. Only NAME is looked up, and it is opened with
 * O_NOFOLLOW; lstat, readlink, mkdir, symlink, link, unlink, lchown and lutimes never follow a last
 * component anyway. The choice and its cost are in docs/decisions.md ("Race-free walks on the node's
 * disk").
 */
import { closeSync, constants, existsSync, fstatSync, openSync, type BigIntStats } from "node:fs";
import { UNSAFE_PATH_HINT, UnsafePathError } from "@pullback/common";
import { ChangedError, UnsupportedSystemError } from "../errors.js";

/** O_NONBLOCK: a FIFO swapped in for a directory or file must fail or read empty, not hang the job. */
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

let procChecked = false;

function requireProc(): void {
  if (procChecked) return;
  if (!existsSync("/proc/self/fd")) {
    throw new UnsupportedSystemError(
      "/proc is not mounted: Pullback needs /proc/self/fd to walk directories without following swapped-in symlinks (Linux only)",
      "mount /proc (mount -t proc proc /proc) where the agent runs, then start it again",
    );
  }
  procChecked = true;
}

/** Refuses anything but one plain name: "a/b", "." and ".." would step somewhere unchecked. */
export function assertName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new UnsafePathError(`refusing path component ${JSON.stringify(name)}`, UNSAFE_PATH_HINT);
  }
}

export interface DevIno {
  dev: bigint;
  ino: bigint;
}

export class DirFd {
  private open = true;

  private constructor(
    readonly fd: number,
    readonly stat: BigIntStats,
  ) {}

  /**
   * Opens a directory named by an absolute path the operator configured (a source root, a restore
   * target). Its last component must not be a symlink; `expect` (an earlier lstat) must still match.
   */
  static openPath(abs: string, expect?: DevIno): DirFd {
    requireProc();
    return DirFd.fromFd(openDir(abs, abs), expect, abs);
  }

  /** Opens the directory NAME inside `parent`, never through a symlink. */
  static openAt(parent: DirFd, name: string, expect?: DevIno): DirFd {
    return DirFd.fromFd(openDir(parent.at(name), name), expect, name);
  }

  private static fromFd(fd: number, expect: DevIno | undefined, shown: string): DirFd {
    const st = fstatSync(fd, { bigint: true });
    const dir = new DirFd(fd, st);
    if (expect && !dir.sameAs(expect)) {
      dir.close();
      throw new ChangedError(`${shown} was replaced by another directory since it was listed`);
    }
    return dir;
  }

  /** A path that names NAME inside this directory, valid while this descriptor is open. */
  at(name: string): string {
    assertName(name);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /** A path that names this directory itself (for readdir), valid while this descriptor is open. */
  get self(): string {
    return `/proc/self/fd/${this.fd}`;
  }

  sameAs(o: DevIno): boolean {
    return this.stat.dev === o.dev && this.stat.ino === o.ino;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}

function openDir(path: string, shown: string): number {
  try {
    return openSync(path, DIR_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") throw new ChangedError(`${shown} is not a directory (a symlink?)`);
    throw err;
  }
}

/** Compares an opened file with the lstat taken when it was listed. */
export function sameFile(a: DevIno, b: DevIno): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}
