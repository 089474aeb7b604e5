/**
 * The master's unattended loop. Each tick: fail jobs whose master died, skip jobs whose window
 * ended, queue the calendar slots that are due (one catch-up slot after downtime, never one per
 * missed slot), then claim and run jobs within the global and per-node limits. Everything lives in
 * the catalog, so a restart resumes where the last process stopped and several masters can share
 * the work without running a job twice.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { ClaimedJob, ClaimLimits } from "../catalog/index.js";
import { executeBackupJob } from "../jobs/backup-job.js";
import type { MasterContext } from "../master-context.js";
import type { DueDecision } from "../policy/index.js";
import { RetentionKeeper, type RetentionKeeperOptions } from "./retention-keeper.js";

/** One tick's decision for a source: at most one slot to run, and the slots that will never run. */
export type SourceDecision = Pick<DueDecision, "run" | "skipped">;

/** What the scheduler needs to know of one source's policy. */
export interface ScheduledSource {
  node: string;
  source: string;
  priority: number;
  timeoutSeconds: number | null;
  maxAttempts: number;
  /** When attempt number `failures + 1` may start, or null when retries are used up. */
  retryAt(failures: number, failedAt: Date, windowEnd: Date | null): Date | null;
  /** What to queue now, given the last slot ever decided for this source (null: never). */
  due(lastSlot: Date | null, now: Date): SourceDecision;
}

export interface SchedulerOptions {
  limits: ClaimLimits;
  /** A running job whose master has not beaten for this long is considered abandoned. */
  staleSeconds?: number;
  heartbeatMs?: number;
  /** Reads the sources and their policies (re-read every tick, so policy changes apply at once). */
  sources(): Promise<ScheduledSource[]>;
  now?: () => Date;
  /** Apply each source's policy retention after its successful backups, and collect garbage on a schedule (`serve`). */
  retention?: RetentionKeeperOptions;
}

export interface TickReport {
  abandoned: number[];
  skipped: number[];
  queued: number[];
  started: number[];
}

export class Scheduler {
  readonly masterId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  private readonly running = new Map<number, { done: Promise<void>; abort: AbortController }>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly keeper: RetentionKeeper | null;

  constructor(
    private readonly ctx: MasterContext,
    private readonly o: SchedulerOptions,
  ) {
    this.keeper = o.retention ? new RetentionKeeper(ctx, o.retention) : null;
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  async tick(): Promise<TickReport> {
    const queue = (await this.ctx.catalog()).queue;
    const report: TickReport = { abandoned: [], skipped: [], queued: [], started: [] };
    report.abandoned = await queue.failAbandoned(this.o.staleSeconds ?? 120);
    report.skipped = await queue.skipExpired();
    const now = this.now();
    for (const s of await this.o.sources()) {
      const d = s.due(await queue.lastSlot(s.node, s.source), now);
      // Slots missed during downtime are recorded as skipped jobs: the operator sees every one.
      for (const missed of d.skipped) {
        const id = await queue.recordSkipped(s.node, s.source, missed.time, missed.level, "missed while no master was running; a newer slot replaces it");
        if (id !== null) report.skipped.push(id);
      }
      if (!d.run) continue;
      const id = await queue.enqueueSlot({
        node: s.node,
        source: s.source,
        slot: d.run.slot.time,
        runAfter: d.run.window.opens,
        level: d.run.level,
        priority: s.priority,
        windowEnd: d.run.window.closes,
        timeoutSeconds: s.timeoutSeconds,
        maxAttempts: s.maxAttempts,
      });
      if (id !== null) report.queued.push(id);
    }
    if (!this.stopping) this.keeper?.maybeCollect();
    while (!this.stopping && this.running.size < this.o.limits.global) {
      const job = await queue.claim(this.masterId, this.o.limits);
      if (!job) break;
      report.started.push(job.id);
      this.start(job);
    }
    return report;
  }

  private start(job: ClaimedJob): void {
    const abort = new AbortController();
    const timer = job.timeoutSeconds
      ? setTimeout(() => abort.abort(`timed out after ${job.timeoutSeconds} s (the policy's job timeout)`), job.timeoutSeconds * 1000)
      : undefined;
    const log = this.ctx.log.child({ job: job.id, node: job.node, source: job.source, attempt: job.attempt });
    log.info({ level: job.requestedLevel, slot: job.scheduledFor }, "job started");
    const done = executeBackupJob(this.ctx, job.id, { node: job.node, source: job.source, level: job.requestedLevel, signal: abort.signal })
      .then(
        async (r) => {
          log.info({ snapshot: r.snapshot.id, status: r.job.status }, "job finished");
          await this.keeper?.afterBackup(job.id, job.node, job.source, log);
        },
        async (err: Error) => {
          log.warn({ err: err.message }, "job failed");
          const src = (await this.o.sources()).find((s) => s.node === job.node && s.source === job.source);
          const at = src?.retryAt(job.attempt, new Date(), job.windowEnd) ?? null;
          if (at === null || job.attempt >= job.maxAttempts) return;
          const delay = Math.max(0, Math.round((at.getTime() - Date.now()) / 1000));
          const next = await (await this.ctx.catalog()).queue.retry(job.id, delay);
          if (next !== null) log.info({ retry: next, inSeconds: delay }, "retry queued");
        },
      )
      .catch((err: Error) => log.error({ err: err.message }, "could not record the job's end"))
      .finally(() => {
        clearTimeout(timer);
        this.running.delete(job.id);
      });
    this.running.set(job.id, { done, abort });
    this.heartbeat ??= setInterval(() => {
      void this.ctx.catalog().then((c) => c.queue.heartbeat(this.masterId, [...this.running.keys()])).catch(() => undefined);
    }, this.o.heartbeatMs ?? 10_000);
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Waits for running jobs; with `cancelAfterMs`, aborts those still running after that long. */
  async stop(cancelAfterMs?: number): Promise<void> {
    this.stopping = true;
    const all = Promise.allSettled([...this.running.values()].map((r) => r.done));
    if (cancelAfterMs !== undefined) {
      const t = setTimeout(() => {
        for (const r of this.running.values()) r.abort.abort("the master is shutting down");
      }, cancelAfterMs);
      await all;
      clearTimeout(t);
    } else await all;
    await this.keeper?.drain();
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
