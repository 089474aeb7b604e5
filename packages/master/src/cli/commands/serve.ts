import { MasterContext } from "../../master-context.js";
import { runDaemon, stopOnSignals } from "../../scheduler/daemon.js";
import { EXIT } from "../exit-codes.js";
import { positiveInt, type Command } from "../command.js";

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
    const options = {
      intervalMs: positiveInt(values, "interval", 30) * 1000,
      limits: { global: positiveInt(values, "max-jobs", 4), perNode: positiveInt(values, "per-node", 1) },
      staleSeconds: positiveInt(values, "stale-after", 120),
      gcIntervalMs: positiveInt(values, "gc-interval", 3600) * 1000,
      exitWhenIdle: values["exit-when-idle"] === true,
    };
    const ctx = await MasterContext.open(homeDir);
    try {
      const daemon = await runDaemon(ctx, options);
      stopOnSignals(ctx, daemon);
      await daemon.done;
    } finally {
      await ctx.close();
    }
    return EXIT.OK;
  },
};
