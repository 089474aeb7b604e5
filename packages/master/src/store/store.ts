/**
 * The store on the master's disk: chunks, snapshot records and a tmp/ for partial writes. The store
 * alone is the truth: it can restore and rebuild the catalog without the database.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, FILE_CHUNKING, type ChunkerParams } from "@pullback/common";
import { ChunkStore } from "./chunk-store.js";
import { SnapshotRecords } from "./snapshot-records.js";

export interface StoreConfig {
  format: "pullback-store/1";
  id: string;
  createdAt: string;
  chunker: ChunkerParams;
}

export class Store {
  readonly chunks: ChunkStore;
  readonly snapshots: SnapshotRecords;

  private constructor(
    readonly dir: string,
    readonly config: StoreConfig,
  ) {
    const tmp = join(dir, "tmp");
    this.chunks = new ChunkStore({ chunks: join(dir, "chunks"), tmp, damaged: join(dir, "damaged") });
    this.snapshots = new SnapshotRecords(join(dir, "snapshots"), tmp);
  }

  static async create(dir: string): Promise<Store> {
    const config: StoreConfig = {
      format: "pullback-store/1",
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      chunker: FILE_CHUNKING,
    };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const d of ["chunks", "snapshots", "tmp"]) await mkdir(join(dir, d), { recursive: true, mode: 0o700 });
    try {
      await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n", { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return Store.open(dir);
      throw err;
    }
    return new Store(dir, config);
  }

  static async open(dir: string): Promise<Store> {
    let text: string;
    try {
      text = await readFile(join(dir, "config.json"), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new ConfigError(`no Pullback store at ${dir}: run \`pullback init\` first, or pass the right --home`);
      }
      throw err;
    }
    const config = JSON.parse(text) as StoreConfig;
    if (config.format !== "pullback-store/1") {
      throw new ConfigError(
        `${dir} holds a store of format ${String(config.format)}, which this version cannot read`,
        "run the Pullback version that wrote it, or pass the --home of a store this version made",
      );
    }
    return new Store(dir, config);
  }

  /**
   * Removes partial writes left by a killed process. Only files older than `minAgeMs` go, so the
   * partial chunks of a backup running in another process are left alone.
   */
  async cleanTmp(minAgeMs = 24 * 3600 * 1000): Promise<number> {
    const tmp = join(this.dir, "tmp");
    let removed = 0;
    for (const name of await readdir(tmp)) {
      const p = join(tmp, name);
      const s = await stat(p).catch(() => null);
      if (s && Date.now() - s.mtimeMs >= minAgeMs) {
        await rm(p, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
