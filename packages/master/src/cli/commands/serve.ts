import { MasterContext } from "../../master-context.js";
import { Scheduler } from "../../scheduler/scheduler.js";
import { scheduledSources } from "../../scheduler/scheduled-sources.js";
import { EXIT, UsageError } from "../exit-codes.js";
import { str, type Command, type OptionValues } from "../command.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

function positive(v: OptionValues, key: string, dflt: number): number {
  const s = str(v, key);
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${key} takes a positive whole number`);
  return n;
}

export const serveCommand: Command = {
  name: ["serve"],
  usage: "pullback serve [--interval SEC] [--max-jobs N] [--per-node N] [--stale-after SEC] [--gc-interval SEC] [--exit-when-idle]",
  summary:
    "run the scheduler: back up sources by their policies, apply each policy's retention after its backups and collect garbage every --gc-interval (default 3600 s), forever (several masters may share one catalog)",
  args: [0, 0],
  options: {
    interval: { type: "string" },
    "max-jobs": { type: "string" },
    "per-node": { type: "string" },
    "stale-after": { type: "string" },
    "gc-interval": { type: "string" },
    "exit-when-idle": { type: "boolean" },
  },
  async run({ values, homeDir }) {
    const intervalMs = positive(values, "interval", 30) * 1000;
    const ctx = await MasterContext.open(homeDir);
    const catalog = await ctx.catalog();
    const scheduler = new Scheduler(ctx, {
      limits: { global: positive(values, "max-jobs", 4), perNode: positive(values, "per-node", 1) },
      // A running job whose master has not beaten for this long was abandoned (its master died).
      staleSeconds: positive(values, "stale-after", 120),
      heartbeatMs: Math.min(10_000, positive(values, "stale-after", 120) * 250),
      sources: () => scheduledSources(catalog),
      retention: { gcIntervalMs: positive(values, "gc-interval", 3600) * 1000 },
    });
    ctx.log.info({ master: scheduler.masterId, intervalMs }, "scheduler started");
    let stop = false;
    const onSignal = (sig: string) => {
      ctx.log.info(`${sig}: finishing running jobs (up to 60 s), starting no new ones`);
      stop = true;
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
    try {
      while (!stop) {
        const r = await scheduler.tick();
        if (r.queued.length || r.started.length || r.skipped.length || r.abandoned.length) ctx.log.info(r, "scheduler tick");
        if (values["exit-when-idle"] && scheduler.runningCount === 0) {
          const c = await catalog.queue.counts();
          if (c.queued === 0 && c.running === 0) break;
        }
        // Wake early when a job slot frees up, so a queue of short jobs drains quickly.
        const until = Date.now() + (values["exit-when-idle"] ? 200 : intervalMs);
        const running = scheduler.runningCount;
        while (!stop && Date.now() < until && scheduler.runningCount === running) await new Promise((r) => setTimeout(r, 100));
      }
      await scheduler.stop(60_000);
    } finally {
      await ctx.close();
    }
    return EXIT.OK;
  },
};

export const jobsCommand: Command = {
  name: ["jobs"],
  usage: "pullback jobs [--status queued|running|succeeded|warning|failed|cancelled|skipped] [--node NODE] [--limit N]",
  summary: "list jobs with their status, level, bytes and error",
  args: [0, 0],
  options: { status: { type: "string" }, node: { type: "string" }, limit: { type: "string" } },
  async run({ values, homeDir, out }) {
    const jobs = await withJobs(homeDir, values);
    out.result(jobs, () =>
      jobs
        .map((j) => `${String(j.id).padStart(5)} ${j.status.padEnd(9)} ${(j.node ?? "-") + "/" + (j.source ?? "-")} ${j.level ?? j.requestedLevel ?? "-"} attempt ${j.attempt} ${j.createdAt.toISOString()}${j.error ? `\n        ${inlineText(j.error)}` : ""}`)
        .join("\n") || "no jobs",
    );
    return EXIT.OK;
  },
};

async function withJobs(homeDir: string, values: OptionValues) {
  return withContext(homeDir, async (ctx) => {
    const status = str(values, "status");
    const node = str(values, "node");
    return (await ctx.catalog()).jobs.list({
      ...(status ? { status: status as "queued" } : {}),
      ...(node ? { node } : {}),
      limit: positive(values, "limit", 50),
    });
  });
}
