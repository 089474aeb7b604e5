/**
 * Records a sealed snapshot in one transaction: its node and source (created if new), the next
 * sequence number of the source, the file index and chunk references (record-index.ts), and the
 * snapshot row.
 *
 * This uses node-postgres directly rather than Prisma: it needs a temporary table, array-parameter
 * bulk inserts and set-based UPDATE ... WHERE NOT EXISTS, none of which Prisma's query API expresses.
 */
import type pg from "pg";
import type { Entry, SnapshotRecord } from "@pullback/common";
import { RecordError } from "../errors.js";
import { foldFileVersions, loadIncoming, recordChunkRefs } from "./record-index.js";
import { withTransaction } from "./sql.js";

export interface RecordOutcome {
  created: boolean;
  seq: number;
  entries: number;
  rowsInserted: number;
  rowsClosed: number;
}

/** A snapshot already recorded rolls back: replaying the whole store writes nothing for it. */
export async function recordSnapshotTx(
  pool: pg.Pool,
  record: SnapshotRecord,
  entries: AsyncIterable<Entry> | Iterable<Entry>,
): Promise<RecordOutcome> {
  return withTransaction(pool, (client) => recordInTransaction(client, record, entries), (outcome) => outcome.created);
}

async function recordInTransaction(
  client: pg.ClientBase,
  record: SnapshotRecord,
  entries: AsyncIterable<Entry> | Iterable<Entry>,
): Promise<RecordOutcome> {
  const nodeId = await nodeIdFor(client, record.node);
  const sourceId = await lockSource(client, record, nodeId);
  const priorSeq = await alreadyRecorded(client, record, sourceId);
  if (priorSeq !== null) return { created: false, seq: priorSeq, entries: record.manifest.entries, rowsInserted: 0, rowsClosed: 0 };

  const { last_seq: seq } = await one<{ last_seq: number }>(
    client,
    "UPDATE sources SET last_seq = last_seq + 1, updated_at = now() WHERE id = $1 RETURNING last_seq",
    [sourceId],
  );
  const { count, chunkIds } = await loadIncoming(client, record, entries);
  const { rowsClosed, rowsInserted } = await foldFileVersions(client, sourceId, seq);
  await recordChunkRefs(client, sourceId, seq, chunkIds);
  await insertSnapshotRow(client, record, nodeId, sourceId, seq);
  return { created: true, seq, entries: count, rowsInserted, rowsClosed };
}

/** The source's id, its row created if new and locked until commit; refuses a record of another type. */
async function lockSource(client: pg.ClientBase, record: SnapshotRecord, nodeId: number): Promise<number> {
  // DO UPDATE (not DO NOTHING) so RETURNING always yields the row, and the row stays locked until
  // commit: concurrent recordings of one source queue here, which keeps seq and the open rows consistent.
  const source = await one<{ id: number; type: string }>(
    client,
    `INSERT INTO sources (node_id, name, type, codec) VALUES ($1, $2, $3, $4)
     ON CONFLICT (node_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id, type::text AS type`,
    [nodeId, record.source, record.sourceType, record.codec],
  );
  if (source.type !== record.sourceType) {
    throw new RecordError(
      `snapshot ${record.id}: source ${record.node}/${record.source} is of type ${source.type} in the catalog but the record says ${record.sourceType}`,
    );
  }
  return source.id;
}

/** The seq of a recording of the same id, or null; an error if that id belongs to another source. */
async function alreadyRecorded(client: pg.ClientBase, record: SnapshotRecord, sourceId: number): Promise<number | null> {
  const existing = await client.query<{ source_id: number; seq: number }>(
    "SELECT source_id, seq FROM snapshots WHERE id = $1",
    [record.id],
  );
  const prior = existing.rows[0];
  if (prior) {
    if (prior.source_id !== sourceId) {
      throw new RecordError(`snapshot id ${record.id} is already recorded for another source; ids must be unique across the store`);
    }
    return prior.seq;
  }
  return null;
}

async function insertSnapshotRow(client: pg.ClientBase, record: SnapshotRecord, nodeId: number, sourceId: number, seq: number): Promise<void> {
  const s = record.stats;
  await client.query(
    `INSERT INTO snapshots (id, node_id, source_id, seq, level, requested_level, base_id, started_at, finished_at,
       codec, file_count, dir_count, other_count, bytes_total, bytes_read, bytes_new, bytes_stored, bytes_sent,
       chunks_total, chunks_new, manifest, warnings, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
    [
      record.id,
      nodeId,
      sourceId,
      seq,
      record.level,
      record.requestedLevel,
      record.baseId,
      record.startedAt,
      record.finishedAt,
      record.codec,
      s.files,
      s.dirs,
      s.otherEntries,
      s.bytesTotal,
      s.bytesRead,
      s.bytesNew,
      s.bytesStored,
      s.bytesSent,
      s.chunksTotal,
      s.chunksNew,
      JSON.stringify(record.manifest),
      record.warnings,
      record.warnings.length > 0 ? "warning" : "complete",
    ],
  );
}

/**
 * Looks up before inserting so the node row is not locked: recordings of other sources of the same
 * node must not wait for this transaction.
 */
async function nodeIdFor(client: pg.ClientBase, name: string): Promise<number> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const found = await client.query<{ id: number }>("SELECT id FROM nodes WHERE name = $1", [name]);
    if (found.rows[0]) return found.rows[0].id;
    // DO NOTHING waits for a concurrent insert of the same name; the next SELECT then sees it.
    const ins = await client.query<{ id: number }>("INSERT INTO nodes (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id", [name]);
    if (ins.rows[0]) return ins.rows[0].id;
  }
  throw new RecordError(`could not create or find node ${name}`);
}

async function one<T extends pg.QueryResultRow>(client: pg.ClientBase, sql: string, params: unknown[]): Promise<T> {
  const { rows } = await client.query<T>(sql, params);
  const row = rows[0];
  if (!row) throw new RecordError(`expected a row from: ${sql.split("\n")[0]}`);
  return row;
}
