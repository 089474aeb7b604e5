/**
 * Chooses what a backup is compared against. Incremental: the source's latest snapshot. Differential:
 * its latest full. With no such snapshot the job runs as a full and the record says so (level vs
 * requestedLevel). The base only decides which files are read again: every manifest is complete.
 */
import type { BackupLevel, Entry, PriorFile, SnapshotRecord } from "@pullback/common";
import { ConcurrentChangeError } from "../errors.js";
import { loadManifestMap } from "../store/manifest-io.js";
import type { Store } from "../store/store.js";

export interface BackupPlan {
  level: BackupLevel;
  requestedLevel: BackupLevel;
  base: { record: SnapshotRecord; entries: Map<string, Entry> } | null;
  /** Files the agent may skip when unchanged; null for a full. */
  prior: Map<string, PriorFile> | null;
  /** Chunk ids of the source's latest snapshot: the agent need not send these again. */
  knownChunks: Set<string>;
  /**
   * Chunks the node may reference without sending them: the known chunks plus the base's (an
   * unchanged file of a differential takes the base's chunks). Only this source's own snapshots:
   * a chunk of anyone else must be uploaded, so a node cannot read another's data by naming its hash.
   */
  trusted: Set<string>;
  /** Set when the requested level could not be honoured. */
  note?: string;
}

/**
 * Loads a snapshot's entries, or null if the snapshot was forgotten (and its chunks collected) while
 * we planned: that is a race with prune, not damage. Damage to a snapshot that still exists throws.
 */
async function entriesOf(store: Store, record: SnapshotRecord): Promise<Map<string, Entry> | null> {
  try {
    return await loadManifestMap(store.chunks, record.manifest);
  } catch (err) {
    if (!(await store.snapshots.exists(record))) return null;
    throw err;
  }
}

export async function planBackup(store: Store, node: string, source: string, requested: BackupLevel): Promise<BackupPlan> {
  for (let attempt = 0; ; attempt++) {
    const plan = await tryPlan(store, node, source, requested);
    if (plan || attempt >= 3) {
      if (plan) return plan;
      throw new ConcurrentChangeError(
        `the snapshots of ${node}/${source} kept disappearing while planning the backup (a prune running?)`,
        "run the backup again once the prune has finished",
      );
    }
  }
}

async function tryPlan(store: Store, node: string, source: string, requested: BackupLevel): Promise<BackupPlan | null> {
  const history = await store.snapshots.list({ node, source });
  const latest = history.at(-1);
  let baseRecord: SnapshotRecord | undefined;
  if (requested === "incremental") baseRecord = latest;
  else if (requested === "differential") baseRecord = history.filter((r) => r.level === "full").at(-1);

  const plan: BackupPlan = { level: requested, requestedLevel: requested, base: null, prior: null, knownChunks: new Set(), trusted: new Set() };
  if (requested !== "full" && !baseRecord) {
    plan.level = "full";
    plan.note = `no earlier ${requested === "differential" ? "full " : ""}snapshot of ${node}/${source}: running a full backup instead of ${requested}`;
  }
  if (baseRecord) {
    const entries = await entriesOf(store, baseRecord);
    if (!entries) return null;
    plan.base = { record: baseRecord, entries };
    plan.prior = new Map();
    for (const e of entries.values()) {
      if (e.type === "file") plan.prior.set(e.path, { size: e.size, mtimeNs: e.mtimeNs, ctimeNs: e.ctimeNs, ino: e.ino });
    }
  }
  const knownFrom = latest && latest.id !== baseRecord?.id ? await entriesOf(store, latest) : plan.base?.entries;
  if (latest && latest.id !== baseRecord?.id && !knownFrom) return null;
  for (const e of knownFrom?.values() ?? []) for (const c of e.chunks ?? []) plan.knownChunks.add(c.id);
  plan.trusted = new Set(plan.knownChunks);
  for (const e of plan.base?.entries.values() ?? []) for (const c of e.chunks ?? []) plan.trusted.add(c.id);
  // Chunks `verify --repair` set aside: the agent must send them again, and the files that use them
  // must be read again even when unchanged.
  const damaged = await store.chunks.quarantined();
  if (damaged.size) {
    for (const id of damaged) {
      plan.knownChunks.delete(id);
      plan.trusted.delete(id);
    }
    for (const e of plan.base?.entries.values() ?? []) {
      if (e.chunks?.some((c) => damaged.has(c.id))) plan.prior?.delete(e.path);
    }
  }
  return plan;
}
