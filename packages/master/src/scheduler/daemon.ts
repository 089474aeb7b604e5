/**
 * `pullback serve` as a function the CLI and the coming API both start: a Scheduler over the
 * catalog's policy sources, with retention kept after backups and GC on an interval, ticking until
 * stopped. The caller owns the MasterContext (opens and closes it) and the process's signals.
 */
import type { ClaimLimits } from "../catalog/index.js";
import type { MasterContext } from "../master-context.js";
import { scheduledSources } from "./scheduled-sources.js";
import { Scheduler } from "./scheduler.js";

export interface DaemonOptions {
  /** Time between ticks. */
  intervalMs: number;
  limits: ClaimLimits;
  /** A running job whose master has not beaten for this long was abandoned (its master died). */
  staleSeconds: number;
  /** Least time between two garbage collections. */
  gcIntervalMs: number;
  /** Return once the queue is empty and no job runs (tests, one-shot runs), ticking every 200 ms. */
  exitWhenIdle?: boolean;
}

export interface DaemonHandle {
  masterId: string;
  /** Settles when the loop has ended and running jobs have finished (or were cancelled after 60 s). */
  done: Promise<void>;
  /** Starts no new jobs, lets running ones finish for up to 60 s, then cancels them; resolves as `done`. */
  stop(): Promise<void>;
}

/** How long a stopping daemon lets running jobs finish before it cancels them. */
const STOP_GRACE_MS = 60_000;

export async function runDaemon(ctx: MasterContext, o: DaemonOptions): Promise<DaemonHandle> {
  const catalog = await ctx.catalog();
  const scheduler = new Scheduler(ctx, {
    limits: o.limits,
    staleSeconds: o.staleSeconds,
    heartbeatMs: Math.min(10_000, o.staleSeconds * 250),
    sources: () => scheduledSources(catalog),
    retention: { gcIntervalMs: o.gcIntervalMs },
  });
  ctx.log.info({ master: scheduler.masterId, intervalMs: o.intervalMs }, "scheduler started");
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      const r = await scheduler.tick();
      if (r.queued.length || r.started.length || r.skipped.length || r.abandoned.length) ctx.log.info(r, "scheduler tick");
      if (o.exitWhenIdle && scheduler.runningCount === 0) {
        const c = await catalog.queue.counts();
        if (c.queued === 0 && c.running === 0) break;
      }
      // Wake early when a job slot frees up, so a queue of short jobs drains quickly.
      const until = Date.now() + (o.exitWhenIdle ? 200 : o.intervalMs);
      const running = scheduler.runningCount;
      while (!stopping && Date.now() < until && scheduler.runningCount === running) await new Promise((r) => setTimeout(r, 100));
    }
    await scheduler.stop(STOP_GRACE_MS);
  };
  const done = loop();
  return {
    masterId: scheduler.masterId,
    done,
    stop() {
      stopping = true;
      return done;
    },
  };
}

/** SIGTERM and SIGINT stop the daemon gracefully (once each; a second signal gets Node's default). */
export function stopOnSignals(ctx: MasterContext, daemon: DaemonHandle): void {
  const onSignal = (sig: string) => {
    ctx.log.info(`${sig}: finishing running jobs (up to ${STOP_GRACE_MS / 1000} s), starting no new ones`);
    void daemon.stop();
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}
