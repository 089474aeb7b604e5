/**
 * What a restore does with setuid/setgid bits and device nodes. Restored onto another node they are a
 * way to spread: a setuid-root shell or a raw disk device the snapshot's node put there. Unless the
 * restore keeps them (same node, or the operator's --keep-special), the bits are stripped and
 * devices are skipped, and each is reported so the operator knows what differs from the snapshot.
 */
import type { Entry } from "@pullback/common";

const SETID = 0o6000;

export interface SpecialNotice {
  path: string;
  message: string;
}

/** The Warning code the agent uses for these notices, so the master reports them apart from errors. */
export const SPECIAL_WARNING_CODE = "special";

export interface SpecialPolicy {
  /** The mode to restore `e` with, or null when the entry must not be created at all. */
  mode(e: Entry): number | null;
}

export function specialPolicy(keep: boolean, notify: (n: SpecialNotice) => void): SpecialPolicy {
  return {
    mode(e) {
      if (keep) return e.mode;
      if (e.type === "chardev" || e.type === "blockdev") {
        notify({ path: e.path, message: `${e.type === "chardev" ? "character" : "block"} device not restored: the snapshot is from another node (restore with --keep-special to create it)` });
        return null;
      }
      // A setgid directory only passes its group to new files: no privilege, kept.
      if (e.type === "dir" || (e.mode & SETID) === 0) return e.mode;
      notify({ path: e.path, message: "setuid/setgid bits removed: the snapshot is from another node (restore with --keep-special to keep them)" });
      return e.mode & ~SETID;
    },
  };
}
