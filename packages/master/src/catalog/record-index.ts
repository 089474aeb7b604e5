/**
 * Folds a snapshot's entries into the file index and its chunks into chunk_refs, inside the
 * recording transaction (record.ts).
 *
 * The index keeps one row per version of a path (file_versions, valid from_seq <= seq < to_seq), so
 * recording snapshot N compares its entries with the source's open rows: unchanged paths cost no
 * write, changed or vanished paths close their row at N, new or changed paths open a row at N. The
 * comparison is done by PostgreSQL on a temporary table filled in batches, because 100,000 entries
 * compared one by one from Node would take minutes.
 */
import type pg from "pg";
import type { Entry, SnapshotRecord } from "@pullback/common";
import { entryColumns, type EntryColumns } from "./entry-row.js";
import { RecordError } from "../errors.js";
import { hexIds } from "./sql.js";

/** Rows per INSERT ... SELECT FROM unnest(...): large enough to amortise round trips, small enough for memory. */
const BATCH = 5000;

/**
 * Streams the entries into the temporary table `incoming` (dropped at commit) and checks their
 * count against the record. Returns the count and every chunk id the snapshot references.
 */
export async function loadIncoming(
  client: pg.ClientBase,
  record: SnapshotRecord,
  entries: AsyncIterable<Entry> | Iterable<Entry>,
): Promise<{ count: number; chunkIds: Set<string> }> {
  await client.query(`CREATE TEMP TABLE incoming (
      path        TEXT COLLATE "C" PRIMARY KEY,
      type        entry_type NOT NULL,
      size        BIGINT NOT NULL,
      mtime_ns    BIGINT NOT NULL,
      mode        INTEGER NOT NULL,
      uid         BIGINT NOT NULL,
      gid         BIGINT NOT NULL,
      target      TEXT,
      fingerprint BYTEA
    ) ON COMMIT DROP`);

  // One batch in flight while the next is prepared: Node's work (reading the manifest, hashing)
  // overlaps PostgreSQL's instead of alternating with it.
  let count = 0;
  let batch: EntryColumns[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  const chunkIds = new Set<string>(record.manifest.chunks);
  try {
    for await (const entry of entries) {
      for (const c of entry.chunks ?? []) chunkIds.add(c.id);
      batch.push(entryColumns(entry));
      count++;
      if (batch.length >= BATCH) {
        await inFlight;
        inFlight = insertIncoming(client, batch, record.id);
        batch = [];
      }
    }
    await inFlight;
  } catch (err) {
    // Do not leave a rejected insert unobserved when reading the entries failed first.
    await inFlight.catch(() => undefined);
    throw err;
  }
  if (batch.length > 0) await insertIncoming(client, batch, record.id);
  if (count !== record.manifest.entries) {
    throw new RecordError(
      `snapshot ${record.id}: the record says ${record.manifest.entries} entries but ${count} were given; refusing to index a partial manifest`,
    );
  }
  // Temporary tables are never auto-analysed; without statistics the planner may pick a nested loop
  // over 100,000 rows for the comparisons below.
  await client.query("ANALYZE incoming");
  return { count, chunkIds };
}

/** Closes the open rows of paths that changed or vanished at `seq` and opens rows for new or changed paths. */
export async function foldFileVersions(client: pg.ClientBase, sourceId: number, seq: number): Promise<{ rowsClosed: number; rowsInserted: number }> {
  const closed = await client.query(
    `UPDATE file_versions fv SET to_seq = $2
     WHERE fv.source_id = $1 AND fv.to_seq IS NULL
       AND NOT EXISTS (
         SELECT 1 FROM incoming i
         WHERE i.path = fv.path AND i.type = fv.type AND i.size = fv.size AND i.mtime_ns = fv.mtime_ns
           AND i.mode = fv.mode AND i.uid = fv.uid AND i.gid = fv.gid
           AND i.target IS NOT DISTINCT FROM fv.target
           AND i.fingerprint IS NOT DISTINCT FROM fv.fingerprint)`,
    [sourceId, seq],
  );
  // After the UPDATE the open rows are exactly the unchanged paths; everything else gets a new row.
  const inserted = await client.query(
    `INSERT INTO file_versions (source_id, path, type, size, mtime_ns, mode, uid, gid, target, fingerprint, from_seq)
     SELECT $1, i.path, i.type, i.size, i.mtime_ns, i.mode, i.uid, i.gid, i.target, i.fingerprint, $2
     FROM incoming i
     WHERE NOT EXISTS (
       SELECT 1 FROM file_versions fv WHERE fv.source_id = $1 AND fv.to_seq IS NULL AND fv.path = i.path)`,
    [sourceId, seq],
  );
  return { rowsClosed: closed.rowCount ?? 0, rowsInserted: inserted.rowCount ?? 0 };
}

/**
 * Folds the snapshot's chunk set (data and manifest chunks) into chunk_refs the way entries are folded
 * into file_versions: close the source's open rows whose chunk is gone, open rows for chunks that
 * are new to the source. A chunk referenced again stops being a GC candidate.
 */
export async function recordChunkRefs(client: pg.ClientBase, sourceId: number, seq: number, ids: Set<string>): Promise<void> {
  await client.query("CREATE TEMP TABLE incoming_chunks (id BYTEA PRIMARY KEY) ON COMMIT DROP");
  const all = [...ids];
  for (let i = 0; i < all.length; i += 4 * BATCH) {
    await client.query(`INSERT INTO incoming_chunks SELECT id FROM ${hexIds(1)} AS q(id)`, [all.slice(i, i + 4 * BATCH)]);
  }
  await client.query("ANALYZE incoming_chunks");
  await client.query(
    `UPDATE chunk_refs cr SET to_seq = $2
     WHERE cr.source_id = $1 AND cr.to_seq IS NULL AND NOT EXISTS (SELECT 1 FROM incoming_chunks i WHERE i.id = cr.chunk_id)`,
    [sourceId, seq],
  );
  await client.query(
    `INSERT INTO chunk_refs (source_id, chunk_id, from_seq)
     SELECT $1, i.id, $2 FROM incoming_chunks i
     WHERE NOT EXISTS (SELECT 1 FROM chunk_refs cr WHERE cr.source_id = $1 AND cr.chunk_id = i.id AND cr.to_seq IS NULL)`,
    [sourceId, seq],
  );
  await client.query("DELETE FROM gc_candidates g USING incoming_chunks i WHERE g.chunk_id = i.id");
}

async function insertIncoming(client: pg.ClientBase, batch: EntryColumns[], snapshotId: string): Promise<void> {
  try {
    await client.query(
      `INSERT INTO incoming (path, type, size, mtime_ns, mode, uid, gid, target, fingerprint)
       SELECT p, t, sz, mt, md, u, g, tg, decode(fp, 'hex')
       FROM unnest($1::text[], $2::entry_type[], $3::bigint[], $4::bigint[], $5::integer[], $6::bigint[], $7::bigint[],
                   $8::text[], $9::text[]) AS x(p, t, sz, mt, md, u, g, tg, fp)`,
      [
        batch.map((e) => e.path),
        batch.map((e) => e.type),
        batch.map((e) => e.size),
        batch.map((e) => e.mtimeNs),
        batch.map((e) => e.mode),
        batch.map((e) => e.uid),
        batch.map((e) => e.gid),
        batch.map((e) => e.target),
        batch.map((e) => e.fingerprint),
      ],
    );
  } catch (err) {
    if ((err as { code?: string }).code === "23505") {
      throw new RecordError(`snapshot ${snapshotId}: the manifest lists a path twice (${(err as Error).message}); it is corrupt`, undefined, {
        cause: err,
      });
    }
    throw err;
  }
}
