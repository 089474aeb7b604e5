/**
 * The catalog: PostgreSQL index of nodes, sources, jobs, snapshots and file versions. The store is
 * the truth (catalog rebuild replays its snapshot records); this is what makes listing, searching
 * and scheduling fast.
 *
 * Simple reads and writes go through Prisma Client (typed, on @prisma/adapter-pg, no native engine);
 * the bulk and interval queries of the file index use the same pg pool directly (see record.ts).
 */
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { cutText, type BackupLevel, type Entry, type SnapshotRecord } from "@pullback/common";
import { PrismaClient, Prisma } from "./generated/client.js";
import { migrate } from "./migrate.js";
import { startEmbeddedPostgres, type EmbeddedCatalogDb } from "./embedded.js";
import { JobQueue } from "./job-queue.js";
import { recordSnapshotTx } from "./record.js";
import { chargeChunks, releaseChunks } from "./chunk-owners.js";
import { normalisePath } from "./entry-row.js";
import { num, toFileVersionRow, toJobLogRow, toJobRow, toNodeRow, toSnapshotRow, toSourceRow } from "./map.js";
import type {
  CatalogLogger,
  FileVersionRow,
  FinishedJobStatus,
  JobFinishStats,
  JobKind,
  JobLogRow,
  JobProgress,
  JobRow,
  JobStatus,
  JsonObject,
  LogLevel,
  NodeRow,
  RecordResult,
  SnapshotRow,
  SourceRow,
  SourceType,
} from "./types.js";

export class CatalogError extends Error {
  override name = "CatalogError";
}

export interface OpenCatalogOptions {
  /** External PostgreSQL; when absent the master runs its own under <home>/catalog/pgdata. */
  databaseUrl?: string;
  home: string;
  logger?: CatalogLogger;
  /** Overrides where the SQL migrations are read from (default: prisma/migrations of this checkout). */
  migrationsDir?: string;
  /** Connections in the pool shared by Prisma and the bulk queries. */
  poolSize?: number;
}

export interface OpenedCatalog {
  catalog: Catalog;
  /** The URL in use, password removed: for logs and status pages. */
  databaseUrl: string;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openCatalog(options: OpenCatalogOptions): Promise<OpenedCatalog> {
  let embedded: EmbeddedCatalogDb | undefined;
  let url = options.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ home: options.home, ...(options.logger ? { logger: options.logger } : {}) });
    url = embedded.url;
  }
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 8 });
  // An idle client losing its server must not crash the master; the next query reports the error.
  pool.on("error", (err) => options.logger?.warn(`catalog: idle database connection failed: ${err.message}`));
  let prisma: PrismaClient | undefined;
  try {
    const client = await pool.connect().catch((err: Error) => {
      throw new CatalogError(
        `cannot connect to the catalog database at ${redact(url)}: ${err.message}. ` +
          (embedded ? "The embedded server started but refuses connections." : "Check DATABASE_URL, or unset it to use the embedded catalog."),
        { cause: err },
      );
    });
    try {
      await migrate(client, {
        ...(options.migrationsDir ? { dir: options.migrationsDir } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      });
    } finally {
      client.release();
    }
    prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  }
  const catalog = new Catalog(prisma, pool);
  let closed = false;
  return {
    catalog,
    databaseUrl: redact(url),
    embedded: embedded !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await pool.end();
      await embedded?.stop();
    },
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database URL)";
  }
}

export interface NewJob {
  kind: JobKind;
  node?: string;
  source?: string;
  requestedLevel?: BackupLevel;
  params?: JsonObject;
  /** Input snapshot for restore and verify. */
  snapshotId?: string;
  attempt?: number;
}

export interface JobFilter {
  status?: JobStatus | JobStatus[];
  kind?: JobKind;
  node?: string;
  source?: string;
  limit?: number;
}

const nodeAndSource = { node: true, source: true } as const;
const FINISHED: readonly JobStatus[] = ["succeeded", "warning", "failed", "cancelled", "skipped"];
/** A job log line: room for a bounded warning (path and message, escaped) and any error message. */
const MAX_LOG_MESSAGE = 16 * 1024;

export class Catalog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
  ) {}

  // ---------------------------------------------------------------- nodes and sources

  async ensureNode(name: string, address?: string): Promise<NodeRow> {
    const node = await this.prisma.node.upsert({
      where: { name },
      create: { name, address: address ?? null },
      update: address === undefined ? {} : { address, updatedAt: new Date() },
    });
    return toNodeRow(node);
  }

  async getNode(name: string): Promise<NodeRow | null> {
    const node = await this.prisma.node.findUnique({ where: { name } });
    return node ? toNodeRow(node) : null;
  }

  async listNodes(): Promise<NodeRow[]> {
    return (await this.prisma.node.findMany({ orderBy: { name: "asc" } })).map(toNodeRow);
  }

  /** Sets the node's storage quota in bytes (null: no limit). */
  async setNodeQuota(name: string, quotaBytes: number | null): Promise<NodeRow> {
    try {
      const node = await this.prisma.node.update({
        where: { name },
        data: { quotaBytes: quotaBytes === null ? null : BigInt(quotaBytes), updatedAt: new Date() },
      });
      return toNodeRow(node);
    } catch (err) {
      throw notFound(err, `node ${name}`) ?? err;
    }
  }

  /**
   * The node's quota, its charged usage, and what its other running backups (active in the last 10
   * minutes, so a job left "running" by a killed master does not count forever) have stored so far.
   */
  async nodeStorage(nodeId: number, exceptJob: number): Promise<{ quotaBytes: number | null; usedBytes: number; inFlightBytes: number }> {
    const r = await this.pool.query<{ quota_bytes: string | null; used_bytes: string; in_flight: string }>(
      `SELECT n.quota_bytes, n.used_bytes,
              (SELECT coalesce(sum(j.bytes_stored), 0) FROM jobs j
               WHERE j.node_id = n.id AND j.kind = 'backup' AND j.status = 'running' AND j.id <> $2
                 AND j.updated_at > now() - interval '10 minutes') AS in_flight
       FROM nodes n WHERE n.id = $1`,
      [nodeId, exceptJob],
    );
    const row = r.rows[0];
    if (!row) throw new CatalogError(`node ${nodeId} vanished from the catalog`);
    return {
      quotaBytes: row.quota_bytes === null ? null : num(BigInt(row.quota_bytes)),
      usedBytes: num(BigInt(row.used_bytes)),
      inFlightBytes: num(BigInt(row.in_flight)),
    };
  }

  /** Charges chunks a session of the node wrote (id → stored bytes) to its usage. */
  async chargeNodeChunks(nodeId: number, chunks: ReadonlyMap<string, number>): Promise<void> {
    await chargeChunks(this.pool, nodeId, chunks);
  }

  /** Creates the source, or updates its config (and codec) when given: the operator's config is current. */
  async ensureSource(node: string, name: string, type: SourceType, config?: JsonObject, codec?: string): Promise<SourceRow> {
    const nodeRow = await this.ensureNode(node);
    const existing = await this.prisma.source.findUnique({ where: { nodeId_name: { nodeId: nodeRow.id, name } } });
    if (existing && existing.type !== type) {
      throw new CatalogError(
        `source ${node}/${name} is of type ${existing.type} in the catalog, not ${type}: give the new source another name`,
      );
    }
    const source = await this.prisma.source.upsert({
      where: { nodeId_name: { nodeId: nodeRow.id, name } },
      create: { nodeId: nodeRow.id, name, type, config: config ?? {}, ...(codec ? { codec } : {}) },
      update: {
        ...(config ? { config } : {}),
        ...(codec ? { codec } : {}),
        ...(config || codec ? { updatedAt: new Date() } : {}),
      },
      include: { node: true },
    });
    return toSourceRow(source);
  }

  async listSources(node?: string): Promise<SourceRow[]> {
    const sources = await this.prisma.source.findMany({
      where: node ? { node: { name: node } } : {},
      include: { node: true },
      orderBy: [{ node: { name: "asc" } }, { name: "asc" }],
    });
    return sources.map(toSourceRow);
  }

  // ---------------------------------------------------------------- jobs

  async createJob(job: NewJob): Promise<JobRow> {
    const ids = await this.resolveNodeSource(job.node, job.source);
    const row = await this.prisma.job.create({
      data: {
        kind: job.kind,
        nodeId: ids.nodeId,
        sourceId: ids.sourceId,
        requestedLevel: job.requestedLevel ?? null,
        params: job.params ?? {},
        snapshotId: job.snapshotId ?? null,
        attempt: job.attempt ?? 1,
      },
      include: nodeAndSource,
    });
    return toJobRow(row);
  }

  async startJob(id: number, level?: BackupLevel): Promise<JobRow> {
    const now = new Date();
    return this.updateJob(id, { status: "running", startedAt: now, updatedAt: now, ...(level ? { level } : {}) });
  }

  async updateJobProgress(id: number, progress: JobProgress): Promise<JobRow> {
    return this.updateJob(id, { ...progressData(progress), updatedAt: new Date() });
  }

  async finishJob(id: number, status: FinishedJobStatus, error?: string, stats?: JobFinishStats): Promise<JobRow> {
    if (!FINISHED.includes(status)) throw new CatalogError(`finishJob: ${String(status)} is not a final job status`);
    const now = new Date();
    return this.updateJob(id, {
      ...(stats ? progressData(stats) : {}),
      ...(stats?.level ? { level: stats.level } : {}),
      ...(stats?.snapshotId ? { snapshotId: stats.snapshotId } : {}),
      ...(stats?.warnings ? { warnings: stats.warnings } : {}),
      status,
      error: error ?? null,
      finishedAt: now,
      updatedAt: now,
    });
  }

  async appendJobLog(jobId: number, level: LogLevel, message: string | string[]): Promise<void> {
    // Callers bound node text already; this keeps any other caller from filling the table.
    const messages = (Array.isArray(message) ? message : [message]).map((m) => cutText(m, MAX_LOG_MESSAGE));
    if (messages.length === 0) return;
    try {
      await this.prisma.jobLog.createMany({ data: messages.map((m) => ({ jobId, level, message: m })) });
    } catch (err) {
      throw notFound(err, `job ${jobId}`) ?? err;
    }
  }

  async getJob(id: number): Promise<JobRow | null> {
    const job = await this.prisma.job.findUnique({ where: { id }, include: nodeAndSource });
    return job ? toJobRow(job) : null;
  }

  /** Newest first. */
  async listJobs(filter: JobFilter = {}): Promise<JobRow[]> {
    const where: Prisma.JobWhereInput = {};
    if (filter.status) where.status = Array.isArray(filter.status) ? { in: filter.status } : filter.status;
    if (filter.kind) where.kind = filter.kind;
    if (filter.node) where.node = { name: filter.node };
    if (filter.source) where.source = { name: filter.source };
    const jobs = await this.prisma.job.findMany({
      where,
      include: nodeAndSource,
      orderBy: { id: "desc" },
      take: filter.limit ?? 100,
    });
    return jobs.map(toJobRow);
  }

  /** Log lines in order; pass the last id seen as afterId to follow a running job. */
  async jobLog(jobId: number, options: { afterId?: number; limit?: number } = {}): Promise<JobLogRow[]> {
    const lines = await this.prisma.jobLog.findMany({
      where: { jobId, ...(options.afterId !== undefined ? { id: { gt: BigInt(options.afterId) } } : {}) },
      orderBy: { id: "asc" },
      take: options.limit ?? 1000,
    });
    return lines.map(toJobLogRow);
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * Records a sealed snapshot and its entries in one transaction. Recording an id that is already
   * there writes nothing (so `catalog rebuild` can replay the whole store); entries are then not read.
   */
  async recordSnapshot(record: SnapshotRecord, entries: AsyncIterable<Entry> | Iterable<Entry>): Promise<RecordResult> {
    const client = await this.pool.connect();
    let outcome;
    try {
      outcome = await recordSnapshotTx(client, record, entries);
    } finally {
      client.release();
    }
    const snapshot = await this.getSnapshot(record.id);
    if (!snapshot) throw new CatalogError(`snapshot ${record.id} vanished right after it was recorded (deleted concurrently?)`);
    return {
      snapshot,
      created: outcome.created,
      entries: outcome.entries,
      rowsInserted: outcome.rowsInserted,
      rowsClosed: outcome.rowsClosed,
    };
  }

  /** Newest first (by start time, then sequence). */
  async listSnapshots(filter: { node?: string; source?: string; limit?: number } = {}): Promise<SnapshotRow[]> {
    const where: Prisma.SnapshotWhereInput = {};
    if (filter.node) where.node = { name: filter.node };
    if (filter.source) where.source = { name: filter.source };
    const rows = await this.prisma.snapshot.findMany({
      where,
      include: nodeAndSource,
      orderBy: [{ startedAt: "desc" }, { seq: "desc" }],
      ...(filter.limit ? { take: filter.limit } : {}),
    });
    return rows.map(toSnapshotRow);
  }

  /**
   * By full id, or by a prefix that matches exactly one snapshot (as people type ids from a list).
   * Null when nothing matches; an error naming the candidates when the prefix is ambiguous.
   */
  async getSnapshot(idOrPrefix: string): Promise<SnapshotRow | null> {
    const exact = await this.prisma.snapshot.findUnique({ where: { id: idOrPrefix }, include: nodeAndSource });
    if (exact) return toSnapshotRow(exact);
    if (idOrPrefix.length === 0 || /[%_\\]/.test(idOrPrefix)) return null;
    const matches = await this.prisma.snapshot.findMany({
      where: { id: { startsWith: idOrPrefix } },
      include: nodeAndSource,
      orderBy: { id: "asc" },
      take: 6,
    });
    if (matches.length > 1) {
      throw new CatalogError(
        `snapshot id prefix "${idOrPrefix}" is ambiguous: it matches ${matches
          .slice(0, 5)
          .map((m) => m.id)
          .join(", ")}${matches.length > 5 ? ", ..." : ""}; type more of the id`,
      );
    }
    const only = matches[0];
    return only ? toSnapshotRow(only) : null;
  }

  async setSnapshotProtected(id: string, protect: boolean): Promise<void> {
    try {
      await this.prisma.snapshot.update({ where: { id }, data: { protected: protect } });
    } catch (err) {
      throw notFound(err, `snapshot ${id}`) ?? err;
    }
  }

  /**
   * Deletes a snapshot's row, the file-index rows and chunk references no surviving snapshot of its
   * source needs, and queues chunks left without any reference as GC candidates — all in one
   * transaction. Returns null when the snapshot is not in the catalog.
   *
   * A reference row dies only if it was born after the previous survivor and ended by the next one,
   * so the rows examined are the changes around the deleted snapshot, not the whole snapshot.
   */
  async deleteSnapshot(id: string): Promise<{ gcCandidates: number } | null> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        const { rows } = await client.query<{ source_id: number; seq: number; protected: boolean }>(
          "SELECT source_id, seq, protected FROM snapshots WHERE id = $1",
          [id],
        );
        const snap = rows[0];
        if (!snap) {
          await client.query("ROLLBACK");
          return null;
        }
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
          [snap.source_id, snap.seq],
        );
        const queued = await client.query(
          `INSERT INTO gc_candidates (chunk_id)
           SELECT d.chunk_id FROM dead_chunks d
           WHERE NOT EXISTS (SELECT 1 FROM chunk_refs cr WHERE cr.chunk_id = d.chunk_id)
           ON CONFLICT (chunk_id) DO UPDATE SET since = now(), deleted_at = NULL WHERE gc_candidates.deleted_at IS NOT NULL`,
        );
        await client.query("COMMIT");
        return { gcCandidates: queued.rowCount ?? 0 };
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  // ---------------------------------------------------------------- policies

  /** Creates or replaces a policy; `definition` must already be validated (schedule/policy.ts). */
  async putPolicy(name: string, definition: JsonObject): Promise<void> {
    await this.pool.query(
      `INSERT INTO policies (name, definition) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()`,
      [name, JSON.stringify(definition)],
    );
  }

  async listPolicies(): Promise<{ name: string; definition: JsonObject; sources: string[] }[]> {
    const r = await this.pool.query<{ name: string; definition: JsonObject; sources: string[] | null }>(
      `SELECT p.name, p.definition, array_remove(array_agg(n.name || '/' || s.name ORDER BY n.name, s.name), NULL) AS sources
       FROM policies p LEFT JOIN sources s ON s.policy_id = p.id LEFT JOIN nodes n ON n.id = s.node_id
       GROUP BY p.id ORDER BY p.name`,
    );
    return r.rows.map((x) => ({ name: x.name, definition: x.definition, sources: x.sources ?? [] }));
  }

  /** Attaches a source to a policy (null detaches it). */
  async setSourcePolicy(node: string, source: string, policy: string | null): Promise<void> {
    const r = await this.pool.query(
      `UPDATE sources s SET policy_id = (SELECT id FROM policies WHERE name = $3), updated_at = now()
       FROM nodes n WHERE n.id = s.node_id AND n.name = $1 AND s.name = $2 AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM policies WHERE name = $3))`,
      [node, source, policy],
    );
    if (r.rowCount === 0) {
      throw new CatalogError(policy ? `no source ${node}/${source} or no policy ${policy}: check \`pullback source list\` and \`pullback policy list\`` : `no source ${node}/${source}`);
    }
  }

  /** Every source that has a policy, with the policy's definition. */
  async scheduledSources(): Promise<{ node: string; source: string; policy: string; definition: JsonObject }[]> {
    const r = await this.pool.query<{ node: string; source: string; policy: string; definition: JsonObject }>(
      `SELECT n.name AS node, s.name AS source, p.name AS policy, p.definition
       FROM sources s JOIN nodes n ON n.id = s.node_id JOIN policies p ON p.id = s.policy_id ORDER BY 1, 2`,
    );
    return r.rows;
  }

  /** The scheduler's job queue on this catalog. */
  queue(): JobQueue {
    return new JobQueue(this.pool);
  }

  // ---------------------------------------------------------------- garbage collection

  /**
   * Runs `fn` holding a PostgreSQL advisory lock on its own connection. Backups seal under the
   * shared mode and GC deletes under the exclusive one, across every master using this catalog.
   */
  async withAdvisoryLock<T>(key: number, mode: "shared" | "exclusive", fn: () => Promise<T>): Promise<T> {
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

  /** GC candidates queued before `before`, oldest first. */
  async gcCandidates(before: Date, limit: number): Promise<string[]> {
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
  async allGcCandidates(): Promise<Set<string>> {
    const r = await this.pool.query<{ id: string }>("SELECT encode(chunk_id, 'hex') AS id FROM gc_candidates");
    return new Set(r.rows.map((x) => x.id));
  }

  async queueGcCandidates(ids: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 20000) {
      const r = await this.pool.query(
        `INSERT INTO gc_candidates (chunk_id) SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x
         WHERE NOT EXISTS (SELECT 1 FROM chunk_refs cr WHERE cr.chunk_id = decode(x, 'hex'))
         ON CONFLICT (chunk_id) DO UPDATE SET since = now(), deleted_at = NULL WHERE gc_candidates.deleted_at IS NOT NULL`,
        [ids.slice(i, i + 20000)],
      );
      n += r.rowCount ?? 0;
    }
    return n;
  }

  /** The ids among `ids` that some snapshot references. */
  async referencedAmong(ids: string[]): Promise<Set<string>> {
    const r = await this.pool.query<{ id: string }>(
      "SELECT DISTINCT encode(chunk_id, 'hex') AS id FROM chunk_refs WHERE chunk_id = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x)",
      [ids],
    );
    return new Set(r.rows.map((x) => x.id));
  }

  /** Candidates referenced again: no longer garbage. */
  async dropGcCandidates(ids: string[]): Promise<void> {
    await this.pool.query("DELETE FROM gc_candidates WHERE chunk_id = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x)", [ids]);
  }

  /**
   * Deleted chunks become tombstones, which a sealing backup checks the chunks it reused against.
   * A tombstone goes once it is older than `keepDays` and than every live backup job (running, with
   * progress or a heartbeat in the last hour), so even a backup that runs for weeks still sees what
   * GC deleted after it started. The deleted chunks no longer count against the node that added them.
   */
  async markGcDeleted(ids: string[], keepDays = 7): Promise<void> {
    await this.pool.query(
      "UPDATE gc_candidates SET deleted_at = now() WHERE chunk_id = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x)",
      [ids],
    );
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

  /** Ids of every snapshot in the catalog (to compare with the store's records). */
  async snapshotIds(): Promise<Set<string>> {
    const r = await this.pool.query<{ id: string }>("SELECT id FROM snapshots");
    return new Set(r.rows.map((x) => x.id));
  }

  // ---------------------------------------------------------------- file index

  /**
   * The entries of one snapshot, ordered by path; with dirPrefix only that path and what lies under
   * it ("etc/ssh" gives etc/ssh and etc/ssh/...). Paths are relative to the source root.
   */
  async filesInSnapshot(id: string, dirPrefix?: string): Promise<FileVersionRow[]> {
    const snap = await this.getSnapshot(id);
    if (!snap) throw new CatalogError(`no snapshot ${id} in the catalog`);
    const source = await this.prisma.source.findFirstOrThrow({ where: { name: snap.source, node: { name: snap.node } } });
    const prefix = dirPrefix === undefined ? "" : normalisePath(dirPrefix);
    const rows = await this.prisma.fileVersion.findMany({
      where: {
        sourceId: source.id,
        fromSeq: { lte: snap.seq },
        AND: [
          { OR: [{ toSeq: null }, { toSeq: { gt: snap.seq } }] },
          ...(prefix ? [{ OR: [{ path: prefix }, { path: { startsWith: prefix + "/" } }] }] : []),
        ],
      },
      orderBy: { path: "asc" },
    });
    return rows.map((r) => toFileVersionRow(r, snap.node, snap.source));
  }

  /**
   * Every version of a path on a node, oldest first per source, each with the snapshots holding it.
   * A relative path is matched as is; an absolute one is made relative to each source's root
   * (config.path), so "/etc/passwd" finds "passwd" in a source rooted at /etc.
   */
  async fileVersions(query: { node: string; path: string; source?: string }): Promise<FileVersionRow[]> {
    const sources = await this.prisma.source.findMany({
      where: { node: { name: query.node }, ...(query.source ? { name: query.source } : {}) },
    });
    const sourceIds: number[] = [];
    const paths: string[] = [];
    for (const s of sources) {
      const rel = relativeToRoot(query.path, s.config);
      if (rel !== null) {
        sourceIds.push(s.id);
        paths.push(rel);
      }
    }
    if (sourceIds.length === 0) return [];
    const { rows } = await this.pool.query<FileVersionSqlRow>(
      `SELECT so.name AS source, fv.path, fv.type::text AS type, fv.size, fv.mtime_ns, fv.mode, fv.uid, fv.gid,
              fv.target, encode(fv.fingerprint, 'hex') AS fingerprint, fv.from_seq, fv.to_seq,
              ARRAY(SELECT s.id FROM snapshots s
                    WHERE s.source_id = fv.source_id AND s.seq >= fv.from_seq AND (fv.to_seq IS NULL OR s.seq < fv.to_seq)
                    ORDER BY s.seq) AS snapshots
       FROM unnest($1::integer[], $2::text[]) AS q(source_id, path)
       JOIN file_versions fv ON fv.source_id = q.source_id AND fv.path = q.path COLLATE "C"
       JOIN sources so ON so.id = fv.source_id
       ORDER BY so.name, fv.from_seq`,
      [sourceIds, paths],
    );
    return rows.map((r) => ({
      node: query.node,
      source: r.source,
      path: r.path,
      type: r.type,
      size: num(BigInt(r.size)),
      mtimeNs: r.mtime_ns,
      mode: r.mode,
      uid: num(BigInt(r.uid)),
      gid: num(BigInt(r.gid)),
      target: r.target,
      fingerprint: r.fingerprint,
      fromSeq: r.from_seq,
      toSeq: r.to_seq,
      snapshots: r.snapshots,
    }));
  }

  /** Row count of the file index, for tests and status pages. */
  async fileIndexSize(source?: { node: string; source: string }): Promise<number> {
    return this.prisma.fileVersion.count(
      source ? { where: { source: { name: source.source, node: { name: source.node } } } } : undefined,
    );
  }

  // ---------------------------------------------------------------- helpers

  private async resolveNodeSource(node?: string, source?: string): Promise<{ nodeId: number | null; sourceId: number | null }> {
    if (source !== undefined && node === undefined) throw new CatalogError(`job for source ${source} needs its node`);
    if (node === undefined) return { nodeId: null, sourceId: null };
    const n = await this.prisma.node.findUnique({ where: { name: node } });
    if (!n) throw new CatalogError(`unknown node ${node}: add it to the configuration first`);
    if (source === undefined) return { nodeId: n.id, sourceId: null };
    const s = await this.prisma.source.findUnique({ where: { nodeId_name: { nodeId: n.id, name: source } } });
    if (!s) throw new CatalogError(`unknown source ${node}/${source}: add it to the configuration first`);
    return { nodeId: n.id, sourceId: s.id };
  }

  private async updateJob(id: number, data: Prisma.JobUncheckedUpdateInput): Promise<JobRow> {
    try {
      return toJobRow(await this.prisma.job.update({ where: { id }, data, include: nodeAndSource }));
    } catch (err) {
      throw notFound(err, `job ${id}`) ?? err;
    }
  }
}

interface FileVersionSqlRow {
  source: string;
  path: string;
  type: Entry["type"];
  size: string;
  mtime_ns: string;
  mode: number;
  uid: string;
  gid: string;
  target: string | null;
  fingerprint: string | null;
  from_seq: number;
  to_seq: number | null;
  snapshots: string[];
}

function progressData(p: JobProgress): Prisma.JobUncheckedUpdateInput {
  const data: Prisma.JobUncheckedUpdateInput = {};
  if (p.phase !== undefined) data.phase = p.phase;
  if (p.progress !== undefined) data.progress = p.progress;
  if (p.filesDone !== undefined) data.filesDone = BigInt(p.filesDone);
  if (p.bytesDone !== undefined) data.bytesDone = BigInt(p.bytesDone);
  if (p.bytesTotal !== undefined) data.bytesTotal = p.bytesTotal === null ? null : BigInt(p.bytesTotal);
  if (p.bytesRead !== undefined) data.bytesRead = BigInt(p.bytesRead);
  if (p.bytesNew !== undefined) data.bytesNew = BigInt(p.bytesNew);
  if (p.bytesStored !== undefined) data.bytesStored = BigInt(p.bytesStored);
  if (p.bytesSent !== undefined) data.bytesSent = BigInt(p.bytesSent);
  return data;
}

/** Absolute paths are taken relative to the source's configured root; null when outside it. */
function relativeToRoot(path: string, config: Prisma.JsonValue): string | null {
  if (!path.startsWith("/")) return normalisePath(path);
  const root = typeof config === "object" && config !== null && !Array.isArray(config) ? config.path : undefined;
  if (typeof root !== "string" || root === "" || root === "/") return normalisePath(path);
  const r = root.replace(/\/+$/, "");
  if (path === r) return "";
  return path.startsWith(r + "/") ? normalisePath(path.slice(r.length)) : null;
}

function notFound(err: unknown, what: string): CatalogError | undefined {
  if (err instanceof Prisma.PrismaClientKnownRequestError && (err.code === "P2025" || err.code === "P2003")) {
    return new CatalogError(`${what} does not exist in the catalog`, { cause: err });
  }
  return undefined;
}
