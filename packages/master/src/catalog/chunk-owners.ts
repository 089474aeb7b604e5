/**
 * Quota accounting: each chunk is charged to the node whose session first wrote it, for as long as
 * it is in the store. `nodes.used_bytes` is the sum of a node's rows, updated by the same statement
 * that inserts or deletes them, so a backup learns its node's usage from one row.
 *
 * Why "bytes the node added": a node cannot raise another node's usage (deduplicating against a
 * chunk charges nothing, and only a write charges the writer), nor lower its own by failing (a failed
 * session's chunks stay charged until GC deletes them).
 */
import type pg from "pg";
import { hexIds } from "./sql.js";

const BATCH = 20000;

/** Charges `chunks` (id → stored bytes) to the node; chunks already charged to anyone are skipped. */
export async function chargeChunks(pool: pg.Pool, nodeId: number, chunks: ReadonlyMap<string, number>): Promise<void> {
  const all = [...chunks];
  for (let i = 0; i < all.length; i += BATCH) {
    const part = all.slice(i, i + BATCH);
    await pool.query(
      `WITH ins AS (
         INSERT INTO chunk_owners (chunk_id, node_id, stored_bytes)
         SELECT decode(x, 'hex'), $1, b FROM unnest($2::text[], $3::bigint[]) AS t(x, b)
         ON CONFLICT (chunk_id) DO NOTHING
         RETURNING stored_bytes)
       UPDATE nodes SET used_bytes = used_bytes + (SELECT coalesce(sum(stored_bytes), 0) FROM ins) WHERE id = $1`,
      [nodeId, part.map(([id]) => id), part.map(([, bytes]) => bytes)],
    );
  }
}

/** Deleted chunks stop counting against whoever added them. */
export async function releaseChunks(pool: pg.Pool, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += BATCH) {
    await pool.query(
      `WITH d AS (
         DELETE FROM chunk_owners WHERE chunk_id = ANY${hexIds(1)}
         RETURNING node_id, stored_bytes),
       s AS (SELECT node_id, sum(stored_bytes) AS bytes FROM d GROUP BY node_id)
       UPDATE nodes n SET used_bytes = n.used_bytes - s.bytes FROM s WHERE n.id = s.node_id`,
      [ids.slice(i, i + BATCH)],
    );
  }
}
