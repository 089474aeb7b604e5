/** Sizes of directory trees: corpus, repositories and restore targets. */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface TreeSize {
  files: number;
  /** Sum of file sizes (holes count). */
  apparent: number;
  /** Bytes on disk, from st_blocks: shows whether a restore recreated holes. */
  allocated: number;
}

export function treeSize(dir: string): TreeSize {
  const t: TreeSize = { files: 0, apparent: 0, allocated: 0 };
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = lstatSync(p);
        t.files++;
        t.apparent += st.size;
        t.allocated += st.blocks * 512;
      }
    }
  };
  walk(dir);
  return t;
}
