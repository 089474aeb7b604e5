/**
 * What `serve` does so that a policy's retention holds without anyone running `prune` by hand:
 * after each successful backup of a source, its policy's retention forgets what no rule keeps
 * (logged in that job's log), and every `gcIntervalMs` a garbage collection frees what the forgets
 * left unreferenced. Either failing is logged and retried next time; it never fails the backup.
 */
import type { Logger } from "@pullback/common";
import { collectGarbage } from "../gc/garbage-collector.js";
import type { MasterContext } from "../master-context.js";
import { pruneSources } from "../prune/prune-sources.js";

export interface RetentionKeeperOptions {
  /** Least time between two garbage collections. */
  gcIntervalMs: number;
  /** Passed to the collector (default: its own, 1 h). */
  gcGraceMs?: number;
}

export class RetentionKeeper {
  private lastGc: number;
  private gcRun: Promise<void> | null = null;

  constructor(
    private readonly ctx: MasterContext,
    private readonly o: RetentionKeeperOptions,
  ) {
    // The first collection waits one interval: a master restarting in a loop must not GC in a loop.
    this.lastGc = Date.now();
  }

  /** Applies the source's policy retention after its backup `jobId` succeeded. */
  async afterBackup(jobId: number, node: string, source: string, log: Logger): Promise<void> {
    const catalog = await this.ctx.catalog();
    try {
      // Reconciling reads every record in the store; the next collection does it instead.
      const r = await pruneSources(this.ctx, { node, source, dryRun: false, rules: null, gc: false, reconcile: false });
      const gone = r.lines.filter((l) => l.action === "forget");
      if (gone.length === 0) return;
      const message =
        `retention: forgot ${gone.length} snapshot(s) of ${node}/${source} (${gone.map((l) => `${l.snapshot}: ${l.why}`).join("; ")}); ` +
        `${r.gcCandidates} chunk(s) now unreferenced, freed by the next garbage collection`;
      log.info(message);
      await catalog.jobs.appendLog(jobId, "info", message);
    } catch (err) {
      const message = `retention could not be applied: ${(err as Error).message}; the next backup of the source tries again, or run \`pullback prune ${node} ${source}\``;
      log.warn(message);
      await catalog.jobs.appendLog(jobId, "warn", message).catch(() => undefined);
    }
  }

  /** Starts a garbage collection in the background if the interval has passed and none is running. */
  maybeCollect(): void {
    if (this.gcRun || Date.now() - this.lastGc < this.o.gcIntervalMs) return;
    this.lastGc = Date.now();
    this.gcRun = collectGarbage(this.ctx, this.o.gcGraceMs === undefined ? {} : { graceMs: this.o.gcGraceMs })
      .then(
        (r) => {
          if (r.deleted || r.reconciled || r.unindexable.length) this.ctx.log.info({ gc: r }, `garbage collection freed ${r.deleted} chunk(s), ${r.bytesFreed} bytes`);
        },
        (err: Error) => this.ctx.log.warn({ err: err.message }, "garbage collection failed; it runs again after the next interval"),
      )
      .finally(() => (this.gcRun = null));
  }

  /** Waits for a collection in progress (shutdown). */
  async drain(): Promise<void> {
    await this.gcRun;
  }
}
