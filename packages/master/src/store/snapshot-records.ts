/**
 * Snapshot records: snapshots/<node>/<source>/<time>-<id>.json. A record is written only after every
 * chunk it references (data and manifest) is durable, so its presence means the snapshot is whole.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { DamagedDataError, type SnapshotRecord } from "@pullback/common";
import { NodeSetupError, NotFoundError, storeWriteError } from "../errors.js";
import { fsyncDir } from "./durable-io.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new NodeSetupError(`invalid ${kind} name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-" (at most 128)`);
  }
}

export class SnapshotRecords {
  constructor(
    private readonly root: string,
    private readonly tmpDir: string,
  ) {}

  private fileName(r: Pick<SnapshotRecord, "startedAt" | "id">): string {
    return `${r.startedAt.replace(/[:.]/g, "")}-${r.id}.json`;
  }

  async write(record: SnapshotRecord): Promise<string> {
    checkName("node", record.node);
    checkName("source", record.source);
    const dir = join(this.root, record.node, record.source);
    await mkdir(dir, { recursive: true });
    const tmp = join(this.tmpDir, `snapshot.${record.id}.${randomBytes(4).toString("hex")}`);
    try {
      const fh = await open(tmp, "wx", 0o600);
      try {
        await fh.writeFile(JSON.stringify(record, null, 2) + "\n");
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await rm(tmp, { force: true });
      throw storeWriteError(err, `the record of snapshot ${record.id}`);
    }
    const final = join(dir, this.fileName(record));
    await rename(tmp, final);
    await fsyncDir(dir);
    return final;
  }

  async list(filter: { node?: string; source?: string } = {}): Promise<SnapshotRecord[]> {
    const out: SnapshotRecord[] = [];
    for (const node of await dirNames(this.root)) {
      if (filter.node && node !== filter.node) continue;
      for (const source of await dirNames(join(this.root, node))) {
        if (filter.source && source !== filter.source) continue;
        const dir = join(this.root, node, source);
        for (const f of (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json")).sort()) {
          // A record removed between listing and reading was forgotten meanwhile: it is not a snapshot.
          const r = await readRecord(join(dir, f)).catch((err: NodeJS.ErrnoException) => {
            if (err.code === "ENOENT") return null;
            throw err;
          });
          if (r) out.push(r);
        }
      }
    }
    return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  /** Finds a record by full id or unique prefix. */
  async find(idOrPrefix: string): Promise<SnapshotRecord> {
    const all = await this.list();
    const hits = all.filter((r) => r.id.startsWith(idOrPrefix));
    if (hits.length === 0) throw new NotFoundError(`no snapshot ${idOrPrefix} in the store; list them with \`pullback snapshots\``);
    if (hits.length > 1) throw new NotFoundError(`snapshot prefix ${idOrPrefix} is ambiguous (${hits.length} matches); give more characters`);
    return hits[0]!;
  }

  async exists(record: SnapshotRecord): Promise<boolean> {
    return stat(join(this.root, record.node, record.source, this.fileName(record))).then(
      () => true,
      () => false,
    );
  }

  async remove(record: SnapshotRecord): Promise<void> {
    const dir = join(this.root, record.node, record.source);
    await unlink(join(dir, this.fileName(record)));
    await fsyncDir(dir);
  }
}

async function dirNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

async function readRecord(path: string): Promise<SnapshotRecord> {
  const r = JSON.parse(await readFile(path, "utf8")) as SnapshotRecord;
  if (r.format !== "pullback-snapshot/1" || typeof r.id !== "string" || !Array.isArray(r.manifest?.chunks)) {
    throw new DamagedDataError(
      `snapshot record ${path} is not a pullback snapshot record (format ${String(r.format)})`,
      "nothing can be restored from it: move it out of the store's snapshots/ directory (keep it to inspect)",
    );
  }
  return r;
}
