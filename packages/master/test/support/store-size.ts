import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Total size of the chunk files in a master's store (what `gc` reports freeing). */
export function chunkFileBytes(home: string): number {
  const root = join(home, "store", "chunks");
  let total = 0;
  for (const a of readdirSync(root)) {
    for (const b of readdirSync(join(root, a))) {
      for (const f of readdirSync(join(root, a, b))) total += lstatSync(join(root, a, b, f)).size;
    }
  }
  return total;
}
