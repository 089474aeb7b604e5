/**
 * Where the benchmarks take real-world bytes from. System trees are used instead of synthetic text
 * because codec ratios on generated text say little about what a backup of a real host stores.
 * Compressed files (.gz, .xz, …) are skipped for "text" so that class measures compressible data.
 */
import { readdirSync, lstatSync } from "node:fs";
import { join } from "node:path";

export type DataClass = "text" | "binary" | "random";

const TEXT_ROOTS = ["/usr/include", "/usr/share/doc", "/usr/lib/python3", "/usr/lib/python3.11", "/usr/share"];
const BINARY_ROOTS = ["/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"];
const PACKED = /\.(gz|xz|bz2|zst|lz4|zip|jar|png|jpe?g|gif|woff2?|pyc)$/i;

export function rootsFor(cls: Exclude<DataClass, "random">): string[] {
  return cls === "text" ? TEXT_ROOTS : BINARY_ROOTS;
}

export interface SourceFile {
  path: string;
  size: number;
}

/**
 * Regular files under `roots`, depth first in name order so two runs pick the same files, until
 * `budget` bytes are listed. Symlinks are not followed: /usr/lib is full of links to the same .so.
 */
export function listFiles(roots: string[], budget: number, accept: (path: string) => boolean = () => true): SourceFile[] {
  const out: SourceFile[] = [];
  const seen = new Set<string>(); // roots may nest (/usr/share/doc inside /usr/share)
  let total = 0;
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return; // unreadable or absent on this distribution
    }
    for (const name of names) {
      if (total >= budget) return;
      const path = join(dir, name);
      if (seen.has(path)) continue;
      seen.add(path);
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(path);
      else if (st.isFile() && st.size > 0 && accept(path)) {
        out.push({ path, size: st.size });
        total += st.size;
      }
    }
  };
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    walk(root);
  }
  return out;
}

export function isPlainText(path: string): boolean {
  return !PACKED.test(path);
}
