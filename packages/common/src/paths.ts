/**
 * Entry paths come from a node that may be compromised (backup) or from a store that may be damaged
 * (restore). Both sides accept only plain relative paths that cannot climb out of their root.
 */
import { UNSAFE_PATH_HINT, UnsafePathError } from "./errors.js";

export const ROOT_PATH = ".";

/** Returns why `p` is not an acceptable entry path, or null. "." alone names the source root. */
export function checkRelativePath(p: string): string | null {
  if (p === ROOT_PATH) return null;
  if (p.length === 0) return "empty path";
  if (p.includes("\0")) return "path contains a NUL byte";
  if (p.startsWith("/")) return "absolute path";
  for (const part of p.split("/")) {
    if (part === "" || part === "." || part === "..") return `path component "${part}" is not allowed`;
  }
  return null;
}

export function assertRelativePath(p: string): void {
  const why = checkRelativePath(p);
  if (why) {
    throw new UnsafePathError(
      `refusing entry path ${JSON.stringify(p)}: ${why}`,
      UNSAFE_PATH_HINT,
    );
  }
}
