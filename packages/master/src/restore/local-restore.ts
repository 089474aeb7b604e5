/**
 * Restores a snapshot to a directory on this machine. Chunks are read from the store several at a
 * time, possibly out of order, and written at their offsets, so one slow chunk never stalls the
 * others. A damaged chunk fails only the files that use it: everything else is restored, and the
 * result lists each damaged file with the chunk at fault.
 */
import { RestoreWriter, type FileSink } from "@pullback/agent";
import { DAMAGED_MANIFEST_HINT, DamagedDataError, initCodecs, type Entry, type SnapshotRecord } from "@pullback/common";
import { readManifest } from "../store/manifest-io.js";
import type { Store } from "../store/store.js";
import { TaskPool } from "../util/task-pool.js";

export interface RestoreOptions {
  store: Store;
  snapshot: SnapshotRecord;
  target: string;
  /** Restore only these paths (and everything below them). */
  paths?: string[];
  concurrency?: number;
  /** Replace files that exist in the target (default: refuse them, listed as errors). */
  overwrite?: boolean;
  /**
   * Restore setuid/setgid bits and device nodes as they are; default false (stripped and skipped, each
   * listed in `special`). See keepSpecialFor() for who decides.
   */
  keepSpecial?: boolean;
  onProgress?(p: RestoreProgress): void;
}

export interface RestoreProgress {
  files: number;
  bytesWritten: number;
}

export interface RestoreResult extends RestoreProgress {
  entries: number;
  errors: string[];
  /** One line per setuid/setgid bit stripped or device node skipped. */
  special: string[];
}

export function pathFilter(paths: readonly string[] | undefined): (p: string) => boolean {
  if (!paths?.length) return () => true;
  const norm = paths.map((p) => p.replace(/^\/+|\/+$/g, ""));
  return (p) => norm.some((n) => n === "" || p === n || p.startsWith(n + "/") || n.startsWith(p + "/"));
}

export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  await initCodecs();
  const result: RestoreResult = { entries: 0, files: 0, bytesWritten: 0, errors: [], special: [] };
  const writer = new RestoreWriter(o.target, {
    overwrite: o.overwrite ?? false,
    keepSpecial: o.keepSpecial ?? false,
    onSpecial: (n) => result.special.push(`${n.path}: ${n.message}`),
  });
  await writer.begin();
  const wanted = pathFilter(o.paths);
  const pool = new TaskPool(o.concurrency ?? 8);

  const restoreFile = async (e: Entry) => {
    const sink: FileSink = await writer.openFile(e);
    const chunks = e.chunks ?? [];
    let remaining = chunks.length;
    let failed = false;
    result.files++;
    if (remaining === 0) return sink.close();
    for (const c of chunks) {
      await pool.run(async () => {
        try {
          const data = await o.store.chunks.get(c.id);
          if (data.length !== c.len) {
            throw new DamagedDataError(`chunk ${c.id} holds ${data.length} bytes, the manifest says ${c.len}`, DAMAGED_MANIFEST_HINT);
          }
          await sink.write(c.off, data);
          result.bytesWritten += data.length;
          o.onProgress?.(result);
        } catch (err) {
          if (!failed) result.errors.push(`${e.path}: ${(err as Error).message}`);
          failed = true;
        } finally {
          if (--remaining === 0) await (failed ? sink.abort() : sink.close());
        }
      });
    }
  };

  try {
    for await (const e of readManifest(o.store.chunks, o.snapshot.manifest)) {
      if (!wanted(e.path)) continue;
      result.entries++;
      try {
        if (e.type === "file") await restoreFile(e);
        else await writer.entry(e);
      } catch (err) {
        result.errors.push(`${e.path}: ${(err as Error).message}`);
      }
    }
    await pool.drain();
    result.errors.push(...(await writer.finish()));
  } finally {
    // Releases the target's open directories when the manifest cannot be read to the end.
    writer.close();
  }
  return result;
}
