/**
 * Reads back what snapshots reference and checks it: every chunk (data and manifest) is decoded and
 * its SHA-256 compared with its name. Each chunk is read once however many snapshots share it. A
 * damaged or missing chunk is then traced to the snapshots and files that need it, so the operator
 * knows what a restore would lose. Works from the store alone, without the catalog.
 */
import type { SnapshotRecord } from "@pullback/common";
import type { Store } from "../store/store.js";
import { readManifest } from "../store/manifest-io.js";

export interface DamagedChunk {
  chunk: string;
  problem: string;
  /** Snapshot id → the files in it that need this chunk (empty for a chunk of the manifest itself). */
  usedBy: { snapshot: string; node: string; source: string; files: string[] }[];
}

export interface VerifyResult {
  snapshots: number;
  chunks: number;
  bytes: number;
  damaged: DamagedChunk[];
  seconds: number;
}

export interface VerifyOptions {
  /** Only these snapshots (default: all of the store). */
  snapshots?: SnapshotRecord[];
  onProgress?(chunks: number, bytes: number): void;
}

export async function verifyStore(store: Store, o: VerifyOptions = {}): Promise<VerifyResult> {
  const started = Date.now();
  const records = o.snapshots ?? (await store.snapshots.list());
  const problems = new Map<string, string>();
  const checked = new Set<string>();
  let bytes = 0;
  const check = async (id: string): Promise<boolean> => {
    if (checked.has(id)) return !problems.has(id);
    checked.add(id);
    try {
      bytes += (await store.chunks.get(id)).length;
    } catch (err) {
      problems.set(id, (err as Error).message);
    }
    o.onProgress?.(checked.size, bytes);
    return !problems.has(id);
  };

  // Pass 1: each chunk once. A snapshot whose manifest cannot be read is damaged as a whole.
  for (const r of records) {
    let manifestOk = true;
    for (const id of r.manifest.chunks) manifestOk = (await check(id)) && manifestOk;
    if (!manifestOk) continue;
    for await (const e of readManifest(store.chunks, r.manifest)) for (const c of e.chunks ?? []) await check(c.id);
  }

  // Pass 2, only when something is wrong: which snapshots and files need the damaged chunks.
  const damaged = new Map<string, DamagedChunk>([...problems].map(([chunk, problem]) => [chunk, { chunk, problem, usedBy: [] }]));
  if (damaged.size) {
    for (const r of records) {
      const use = (chunk: string, file: string | null): void => {
        const d = damaged.get(chunk);
        if (!d) return;
        let u = d.usedBy.find((x) => x.snapshot === r.id);
        if (!u) d.usedBy.push((u = { snapshot: r.id, node: r.node, source: r.source, files: [] }));
        if (file !== null && !u.files.includes(file)) u.files.push(file);
      };
      r.manifest.chunks.forEach((id) => use(id, null));
      if (r.manifest.chunks.some((id) => damaged.has(id))) continue;
      for await (const e of readManifest(store.chunks, r.manifest)) for (const c of e.chunks ?? []) use(c.id, e.path);
    }
  }
  return { snapshots: records.length, chunks: checked.size, bytes, damaged: [...damaged.values()], seconds: (Date.now() - started) / 1000 };
}
