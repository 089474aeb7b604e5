/**
 * The catalog's side of garbage collection: the queue of candidate chunks (chunks no snapshot
 * references any more), their tombstones once deleted, and the advisory lock that keeps GC's
 * deletes and a backup's seal apart across every master on this catalog.
 */
import type pg from "pg";
import { releaseChunks } from "./chunk-owners.js";
import { hexIds } from "./sql.js";

/** Ids per statement when queuing: one array parameter, bounded so a huge sweep stays a few round trips. */
const BATCH = 20000;

export class GcQueue {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Runs `fn` holding a PostgreSQL advisory lock on its own connection. Backups seal under the
   * shared mode and GC deletes under the exclusive one, across every master using this catalog.
   */
  async withLock<T>(key: number, mode: "shared" | "exclusive", fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(mode === "shared" ? "SELECT pg_advisory_lock_shared($1)" : "SELECT pg_advisory_lock($1)", [key]);
      try {
        return await fn();
      } finally {
        await client.query(mode === "shared" ? "SELECT pg_advisory_unlock_shared($1)" : "SELECT pg_advisory_unlock($1)", [key]);
      }
    } finally {
      client.release();
    }
  }

  /** Candidates queued before `before`, oldest first. */
  async candidates(before: Date, limit: number): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>(
      "SELECT encode(chunk_id, 'hex') AS id FROM gc_candidates WHERE deleted_at IS NULL AND since < $1 ORDER BY since LIMIT $2",
      [before, limit],
    );
    return r.rows.map((x) => x.id);
  }

  /**
   * Every candidate, deleted ones (tombstones) included: a backup checks its references against
   * them before sealing.
   */
  async allCandidates(): Promise<Set<string>> {
    const r = await this.pool.query<{ id: string }>("SELECT encode(chunk_id, 'hex') AS id FROM gc_candidates");
    return new Set(r.rows.map((x) => x.id));
  }

  /** Queues the ids no snapshot references (a deleted tombstone is queued again); returns how many were queued. */
  async enqueue(ids: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += BATCH) {
      const r = await this.pool.query(
        `INSERT INTO gc_candidates (chunk_id) SELECT q.id FROM ${hexIds(1)} AS q(id)
         WHERE NOT EXISTS (SELECT 1 FROM chunk_refs cr WHERE cr.chunk_id = q.id)
         ON CONFLICT (chunk_id) DO UPDATE SET since = now(), deleted_at = NULL WHERE gc_candidates.deleted_at IS NOT NULL`,
        [ids.slice(i, i + BATCH)],
      );
      n += r.rowCount ?? 0;
    }
    return n;
  }

  /** The ids among `ids` that some snapshot references. */
  async referencedAmong(ids: string[]): Promise<Set<string>> {
    const r = await this.pool.query<{ id: string }>(
      `SELECT DISTINCT encode(chunk_id, 'hex') AS id FROM chunk_refs WHERE chunk_id = ANY${hexIds(1)}`,
      [ids],
    );
    return new Set(r.rows.map((x) => x.id));
  }

  /** Candidates referenced again: no longer garbage. */
  async drop(ids: string[]): Promise<void> {
    await this.pool.query(`DELETE FROM gc_candidates WHERE chunk_id = ANY${hexIds(1)}`, [ids]);
  }

  /**
   * Deleted chunks become tombstones, which a sealing backup checks the chunks it reused against.
   * A tombstone goes once it is older than `keepDays` and than every live backup job (running, with
   * progress or a heartbeat in the last hour), so even a backup that runs for weeks still sees what
   * GC deleted after it started. The deleted chunks no longer count against the node that added them.
   */
  async markDeleted(ids: string[], keepDays = 7): Promise<void> {
    await this.pool.query(`UPDATE gc_candidates SET deleted_at = now() WHERE chunk_id = ANY${hexIds(1)}`, [ids]);
    await releaseChunks(this.pool, ids);
    await this.pool.query(
      `DELETE FROM gc_candidates WHERE deleted_at < LEAST(
         now() - make_interval(days => $1),
         COALESCE((SELECT min(started_at) FROM jobs
                   WHERE kind = 'backup' AND status = 'running'
                     AND GREATEST(updated_at, COALESCE(heartbeat_at, updated_at)) > now() - interval '1 hour'), now()))`,
      [keepDays],
    );
  }
}
