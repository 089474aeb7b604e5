/**
 * Damaged chunks set aside (`verify --repair`). The directory is the Store's <store>/damaged, beside
 * chunks/ — where every store written so far keeps them — and is handed in by the Store, so this
 * code never guesses a path outside the chunk root.
 */
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { syncFileSystem } from "./durable-io.js";

export class ChunkQuarantine {
  constructor(private readonly dir: string) {}

  /** Moves the chunk file at `path` here (or leaves a marker when it is already gone). */
  async setAside(id: string, path: string): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const aside = join(this.dir, id);
    try {
      renameSync(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      closeSync(openSync(aside, "w", 0o600));
    }
    await syncFileSystem(this.dir, [this.dir, dirname(path)]);
  }

  /** Ids set aside and not stored again since; `storedAgain` ones are forgotten here. */
  async list(storedAgain: (id: string) => Promise<boolean>): Promise<Set<string>> {
    const out = new Set<string>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return out;
      throw err;
    }
    for (const id of names) {
      if (await storedAgain(id)) unlinkSync(join(this.dir, id));
      else out.add(id);
    }
    return out;
  }
}
