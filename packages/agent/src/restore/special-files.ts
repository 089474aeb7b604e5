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
  /** The mode to restore `e` with: setuid/setgid removed from non-directories unless kept. */
  mode(e: Entry): number;
  /** False, once reported, for a device node that must not be created. */
  allowsDevice(e: Entry): boolean;
}

export function specialPolicy(keep: boolean, notify: (n: SpecialNotice) => void): SpecialPolicy {
  return {
    mode(e) {
      // A setgid directory only passes its group to new files: no privilege, kept.
      if (keep || e.type === "dir" || (e.mode & SETID) === 0) return e.mode;
      notify({ path: e.path, message: "setuid/setgid bits removed: the snapshot is from another node (restore with --keep-special to keep them)" });
      return e.mode & ~SETID;
    },
    allowsDevice(e) {
      if (keep || (e.type !== "chardev" && e.type !== "blockdev")) return true;
      const kind = e.type === "chardev" ? "character" : "block";
      notify({ path: e.path, message: `${kind} device not restored: the snapshot is from another node (restore with --keep-special to create it)` });
      return false;
    },
  };
}
