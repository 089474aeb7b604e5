/**
 * Deleting a snapshot from the catalog: its row, the file-index rows and chunk references no
 * surviving snapshot of its source needs, and queuing the chunks left without any reference as GC
 * candidates, all in one transaction.
 *
 * A reference row dies only if it was born after the previous survivor and ended by the next one,
 * so the rows examined are the changes around the deleted snapshot, not the whole snapshot.
 */
import type pg from "pg";
import { CatalogError } from "../errors.js";
import { withTransaction } from "./sql.js";

/** Null (and nothing written) when the snapshot is not in the catalog. */
export async function deleteSnapshotTx(pool: pg.Pool, id: string): Promise<{ gcCandidates: number } | null> {
  return withTransaction(
    pool,
    async (client) => {
      const { rows } = await client.query<{ source_id: number; seq: number; protected: boolean }>(
        "SELECT source_id, seq, protected FROM snapshots WHERE id = $1",
        [id],
      );
      const snap = rows[0];
      if (!snap) return null;
      if (snap.protected) throw new CatalogError(`snapshot ${id} is protected; unprotect it before deleting it`);
      // Same lock as recording: the open rows must not change under a concurrent record.
      await client.query("SELECT 1 FROM sources WHERE id = $1 FOR UPDATE", [snap.source_id]);
      await client.query("DELETE FROM snapshots WHERE id = $1", [id]);
      await client.query(
        `DELETE FROM file_versions fv
         WHERE fv.source_id = $1 AND fv.from_seq <= $2 AND (fv.to_seq IS NULL OR fv.to_seq > $2)
           AND NOT EXISTS (
             SELECT 1 FROM snapshots s
             WHERE s.source_id = fv.source_id AND s.seq >= fv.from_seq AND (fv.to_seq IS NULL OR s.seq < fv.to_seq))`,
        [snap.source_id, snap.seq],
      );
      return { gcCandidates: await dropChunkRefs(client, snap.source_id, snap.seq) };
    },
    (result) => result !== null,
  );
}

/** Deletes the chunk references only snapshot `seq` of the source needed; returns how many chunks became GC candidates. */
async function dropChunkRefs(client: pg.ClientBase, sourceId: number, seq: number): Promise<number> {
  await client.query("CREATE TEMP TABLE dead_chunks (chunk_id BYTEA) ON COMMIT DROP");
  await client.query(
    `WITH b AS (
       SELECT max(seq) FILTER (WHERE seq < $2) AS prev, min(seq) FILTER (WHERE seq > $2) AS next
       FROM snapshots WHERE source_id = $1),
     d AS (
       DELETE FROM chunk_refs cr USING b
       WHERE cr.source_id = $1 AND cr.from_seq > coalesce(b.prev, -1) AND cr.from_seq <= $2
         AND (b.next IS NULL OR (cr.to_seq IS NOT NULL AND cr.to_seq <= b.next))
       RETURNING cr.chunk_id)
     INSERT INTO dead_chunks SELECT DISTINCT chunk_id FROM d`,
    [sourceId, seq],
  );
  const queued = await client.query(
    `INSERT INTO gc_candidates (chunk_id)
     SELECT d.chunk_id FROM dead_chunks d
     WHERE NOT EXISTS (SELECT 1 FROM chunk_refs cr WHERE cr.chunk_id = d.chunk_id)
     ON CONFLICT (chunk_id) DO UPDATE SET since = now(), deleted_at = NULL WHERE gc_candidates.deleted_at IS NOT NULL`,
  );
  return queued.rowCount ?? 0;
}
