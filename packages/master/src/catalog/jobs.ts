/** Jobs (backup, restore, prune, gc, verify runs) and their log lines. The scheduler's queue is job-queue.ts. */
import { cutText, type BackupLevel } from "@pullback/common";
import type { Prisma, PrismaClient } from "./generated/client.js";
import { CatalogError } from "../errors.js";
import { notFound } from "./not-found.js";
import { nodeAndSource, toJobLogRow, toJobRow } from "./map.js";
import type {
  FinishedJobStatus,
  JobFinishStats,
  JobKind,
  JobLogRow,
  JobProgress,
  JobRow,
  JobStatus,
  JsonObject,
  LogLevel,
} from "./types.js";

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

const FINISHED: readonly JobStatus[] = ["succeeded", "warning", "failed", "cancelled", "skipped"];
/** A job log line: room for a bounded warning (path and message, escaped) and any error message. */
const MAX_LOG_MESSAGE = 16 * 1024;

export class JobCatalog {
  constructor(private readonly prisma: PrismaClient) {}

  async create(job: NewJob): Promise<JobRow> {
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

  async start(id: number, level?: BackupLevel): Promise<JobRow> {
    const now = new Date();
    return this.update(id, { status: "running", startedAt: now, updatedAt: now, ...(level ? { level } : {}) });
  }

  async updateProgress(id: number, progress: JobProgress): Promise<JobRow> {
    return this.update(id, { ...progressData(progress), updatedAt: new Date() });
  }

  async finish(id: number, status: FinishedJobStatus, error?: string, stats?: JobFinishStats): Promise<JobRow> {
    if (!FINISHED.includes(status)) throw new CatalogError(`jobs.finish: ${String(status)} is not a final job status`);
    const now = new Date();
    return this.update(id, {
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

  async appendLog(jobId: number, level: LogLevel, message: string | string[]): Promise<void> {
    // Callers bound node text already; this keeps any other caller from filling the table.
    const messages = (Array.isArray(message) ? message : [message]).map((m) => cutText(m, MAX_LOG_MESSAGE));
    if (messages.length === 0) return;
    try {
      await this.prisma.jobLog.createMany({ data: messages.map((m) => ({ jobId, level, message: m })) });
    } catch (err) {
      throw notFound(err, `job ${jobId}`) ?? err;
    }
  }

  async get(id: number): Promise<JobRow | null> {
    const job = await this.prisma.job.findUnique({ where: { id }, include: nodeAndSource });
    return job ? toJobRow(job) : null;
  }

  /** Newest first. */
  async list(filter: JobFilter = {}): Promise<JobRow[]> {
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
  async log(jobId: number, options: { afterId?: number; limit?: number } = {}): Promise<JobLogRow[]> {
    const lines = await this.prisma.jobLog.findMany({
      where: { jobId, ...(options.afterId !== undefined ? { id: { gt: BigInt(options.afterId) } } : {}) },
      orderBy: { id: "asc" },
      take: options.limit ?? 1000,
    });
    return lines.map(toJobLogRow);
  }

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

  private async update(id: number, data: Prisma.JobUncheckedUpdateInput): Promise<JobRow> {
    try {
      return toJobRow(await this.prisma.job.update({ where: { id }, data, include: nodeAndSource }));
    } catch (err) {
      throw notFound(err, `job ${id}`) ?? err;
    }
  }
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
