/**
 * One backup job end to end: job record, plan (level and base), the node's event stream into the
 * snapshot writer, seal, catalog record. The store is written first and is the truth: if recording
 * in the catalog fails after the seal, the snapshot exists and `pullback catalog rebuild` finds it.
 */
import { boundText, parseCodec, type BackupLevel, type BackupProgress, type CodecSpec, type Logger, type SnapshotRecord } from "@pullback/common";
import type { Catalog, JobRow, NodeRow, SourceRow } from "../catalog/index.js";
import { planBackup, type BackupPlan } from "../backup/plan-backup.js";
import { SnapshotWriter } from "../backup/snapshot-writer.js";
import { connectNode, type SessionTimeouts } from "../links/connect-node.js";
import type { MasterContext } from "../master-context.js";
import { readManifest } from "../store/manifest-io.js";
import { GC_LOCK } from "../gc/gc-lock.js";
import { settleSessionChunks } from "../gc/session-chunks.js";
import { NodeQuota } from "../backup/node-quota.js";
import { ConcurrentChangeError, JobCancelledError, NotFoundError } from "../errors.js";

export interface BackupJobResult {
  job: JobRow;
  snapshot: SnapshotRecord;
}

export interface BackupJobOptions {
  node: string;
  source: string;
  level: BackupLevel;
  onProgress?(p: BackupProgress): void;
  onNote?(message: string): void;
  /** Aborting (timeout, shutdown) cancels the node's stream and fails the job with the reason. */
  signal?: AbortSignal;
  /** Idle timeout and deadline for the agent's stream (default: the master config's idle timeout). */
  timeouts?: SessionTimeouts;
}

/** Creates the job record and runs it: a backup started by hand. */
export async function runBackupJob(ctx: MasterContext, o: BackupJobOptions): Promise<BackupJobResult> {
  const catalog = await ctx.catalog();
  await checkSource(ctx, o);
  const job = await catalog.jobs.create({ kind: "backup", node: o.node, source: o.source, requestedLevel: o.level });
  return executeBackupJob(ctx, job.id, o);
}

/** The job's signal fired: its reason (set by whoever cancelled it) is the message. */
function cancelled(signal: AbortSignal, cause?: unknown): JobCancelledError {
  return new JobCancelledError(String(signal.reason ?? "cancelled"), undefined, cause === undefined ? undefined : { cause });
}

async function checkSource(ctx: MasterContext, o: BackupJobOptions): Promise<void> {
  const catalog = await ctx.catalog();
  if (!(await catalog.sources.list(o.node)).some((s) => s.name === o.source)) {
    throw new NotFoundError(`node ${o.node} has no source ${o.source}`, `add it with \`pullback source add ${o.node} ${o.source} --type fs --path DIR\``);
  }
}

/** Runs an existing job record (created by hand or claimed by the scheduler) to its end. */
export async function executeBackupJob(ctx: MasterContext, jobId: number, o: BackupJobOptions): Promise<BackupJobResult> {
  return new BackupJobRun(ctx, await ctx.catalog(), jobId, o).execute();
}

/** One run of a backup job; its methods are the stages, in the order execute() calls them. */
class BackupJobRun {
  private readonly log: Logger;
  // What recordFailure() needs to give back a failed session's chunks; unset until the writer exists.
  private session: { nodeId: number; writer: SnapshotWriter; quota: NodeQuota } | undefined;

  constructor(
    private readonly ctx: MasterContext,
    private readonly catalog: Catalog,
    private readonly jobId: number,
    private readonly o: BackupJobOptions,
  ) {
    this.log = ctx.log.child({ job: jobId, node: o.node, source: o.source });
  }

  async execute(): Promise<BackupJobResult> {
    const { ctx, catalog, o } = this;
    try {
      const { source, node } = await this.target();
      const plan = await planBackup(ctx.store, o.node, o.source, o.level);
      await catalog.jobs.start(this.jobId, plan.level);
      if (plan.note) await this.note("info", plan.note);
      const codec = parseCodec(source.codec || ctx.home.config.defaults.codec);
      const quota = new NodeQuota(catalog, node, this.jobId);
      const writer = new SnapshotWriter(ctx.store, {
        node: o.node,
        source: o.source,
        sourceType: source.type,
        level: plan.level,
        requestedLevel: plan.requestedLevel,
        base: plan.base,
        codec,
        trusted: plan.trusted,
        admitNewBytes: quota.admit,
      });
      this.session = { nodeId: node.id, writer, quota };
      await this.receive(node, source, plan, codec, writer);
      const snapshot = await this.seal(writer);
      const stray = await settleSessionChunks(ctx, node.id, writer.newChunks());
      if (stray > 0) await this.note("warn", `the node sent ${stray} chunk(s) that no file uses; \`pullback gc\` frees them once its grace period has passed`);
      await quota.settle();
      this.log.info({ snapshot: snapshot.id, stats: snapshot.stats }, "snapshot sealed");
      return { job: await this.recordSuccess(snapshot), snapshot };
    } catch (err) {
      await this.recordFailure(err);
      throw err;
    }
  }

  /** The source and node as they are now: either may have been removed since the job was queued. */
  private async target(): Promise<{ source: SourceRow; node: NodeRow }> {
    const o = this.o;
    const source = (await this.catalog.sources.list(o.node)).find((s) => s.name === o.source);
    if (!source) throw new NotFoundError(`node ${o.node} has no source ${o.source} (removed since the job was queued?)`, "if it was removed by mistake, add it again with `pullback source add`");
    const node = await this.catalog.nodes.get(o.node);
    if (!node) throw new NotFoundError(`no node ${o.node}`, `add it with \`pullback node add ${o.node} --address HOST:PORT\``);
    return { source, node };
  }

  /** Told to the caller, the log and the job's log alike. */
  private async note(level: "info" | "warn", text: string): Promise<void> {
    this.o.onNote?.(text);
    this.log[level](text);
    await this.catalog.jobs.appendLog(this.jobId, level, text);
  }

  /** The node's event stream into the writer; the link is closed however the stream ends. */
  private async receive(node: NodeRow, source: SourceRow, plan: BackupPlan, codec: CodecSpec, writer: SnapshotWriter): Promise<void> {
    const { catalog, o } = this;
    const link = await connectNode(this.ctx, node, o.timeouts);
    const onAbort = () => void link.close();
    o.signal?.addEventListener("abort", onAbort);
    try {
      const stream = link.backup(
        { sourceName: source.name, sourceType: source.type, config: source.config, codec, level: plan.level, prior: plan.level === "full" ? null : plan.prior, knownChunks: plan.knownChunks },
        this.progressReporter(writer),
      );
      for await (const ev of stream.events) {
        if (o.signal?.aborted) throw cancelled(o.signal);
        if (ev.kind !== "warning") await writer.handle(ev);
        else {
          const line = writer.addWarning(ev.path, ev.message);
          if (line !== null) await catalog.jobs.appendLog(this.jobId, "warn", line);
        }
      }
      const notKept = writer.warnings.summary();
      if (notKept) await catalog.jobs.appendLog(this.jobId, "warn", notKept);
      if (o.signal?.aborted) throw cancelled(o.signal);
      writer.setBytesRead(stream.bytesRead());
    } catch (err) {
      // A closed link surfaces as a transport error; the operator needs the reason we closed it.
      if (o.signal?.aborted) throw cancelled(o.signal, err);
      throw err;
    } finally {
      o.signal?.removeEventListener("abort", onAbort);
      await link.close();
    }
  }

  /** Every progress message to the caller; to the catalog at most every two seconds. */
  private progressReporter(writer: SnapshotWriter): (p: BackupProgress) => void {
    let lastReport = 0;
    return (p) => {
      this.o.onProgress?.({ ...p, currentPath: boundText(p.currentPath) });
      const now = Date.now();
      if (now - lastReport > 2000) {
        lastReport = now;
        void this.catalog.jobs.updateProgress(this.jobId, { phase: "reading", filesDone: p.files, bytesRead: p.bytesRead, bytesNew: writer.stats.bytesNew }).catch(() => undefined);
      }
    };
  }

  /**
   * Under the shared GC lock: a chunk this backup reuses may have lost its last reference while the
   * backup ran; if GC already deleted it, fail rather than seal a snapshot that cannot restore.
   */
  private seal(writer: SnapshotWriter): Promise<SnapshotRecord> {
    const { ctx, catalog } = this;
    return catalog.gc.withLock(GC_LOCK, "shared", async () => {
      const candidates = await catalog.gc.allCandidates();
      for (const id of writer.referencedChunks()) {
        if (candidates.has(id) && !(await ctx.store.chunks.has(id))) {
          throw new ConcurrentChangeError(`chunk ${id} was removed by garbage collection while this backup ran; run the backup again (it will send the chunk anew)`);
        }
      }
      const sealed = await writer.seal();
      await catalog.snapshots.record(sealed, readManifest(ctx.store.chunks, sealed.manifest));
      return sealed;
    });
  }

  private recordSuccess(snapshot: SnapshotRecord): Promise<JobRow> {
    return this.catalog.jobs.finish(this.jobId, snapshot.stats.warnings ? "warning" : "succeeded", undefined, {
      level: snapshot.level,
      snapshotId: snapshot.id,
      warnings: snapshot.warnings,
      filesDone: snapshot.stats.files,
      bytesRead: snapshot.stats.bytesRead,
      bytesNew: snapshot.stats.bytesNew,
      bytesStored: snapshot.stats.bytesStored,
      bytesSent: snapshot.stats.bytesSent,
      bytesTotal: snapshot.stats.bytesTotal,
    });
  }

  private async recordFailure(err: unknown): Promise<void> {
    const { ctx, log } = this;
    const message = (err as Error).message;
    log.error({ err }, "backup failed");
    // What arrived is verified data: make it durable and visible, so the next run reuses it instead
    // of leaving it in tmp/ (where, on a full disk, it would hold the space the next run needs).
    await ctx.store.chunks.flush().catch((e: Error) => log.warn({ err: e }, "cannot keep the chunks of the failed backup"));
    // ...but only until GC: unreferenced, they would otherwise hold the disk forever.
    const session = this.session;
    if (session) {
      await session.quota.settle();
      await settleSessionChunks(ctx, session.nodeId, session.writer.newChunks()).catch((e: Error) =>
        log.error({ err: e }, "cannot queue the chunks of the failed backup for GC; `pullback gc --full` finds them"),
      );
    }
    await this.catalog.jobs.finish(this.jobId, "failed", message).catch((e: Error) => log.error({ err: e }, "cannot record the failure"));
  }
}
