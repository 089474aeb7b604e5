import { collectGarbage, fullSweep } from "../../gc/garbage-collector.js";
import { durationFlag } from "../durations.js";
import { EXIT } from "../exit-codes.js";
import { str, type Command } from "../command.js";
import { formatBytes } from "../output.js";
import { withContext } from "./with-context.js";

export const gcCommand: Command = {
  name: ["gc"],
  usage: "pullback gc [--grace 1h] [--dry-run] [--full]",
  summary: "delete chunks no snapshot references any more (safe while backups run); --full first sweeps the whole store for leaks",
  args: [0, 0],
  options: { grace: { type: "string", default: "1h" }, "dry-run": { type: "boolean" }, full: { type: "boolean" } },
  async run({ values, homeDir, out }) {
    const graceMs = durationFlag("grace", str(values, "grace") ?? "1h");
    const r = await withContext(homeDir, async (ctx) => {
      const sweep = values.full ? await fullSweep(ctx, graceMs, values["dry-run"] === true) : null;
      const gc = await collectGarbage(ctx, { graceMs, dryRun: values["dry-run"] === true });
      return { sweep, ...gc };
    });
    out.result(r, () =>
      [
        ...(r.sweep ? [`full sweep: ${r.sweep.chunkFiles} chunk files, ${r.sweep.referenced} referenced, ${r.sweep.queued} ${values["dry-run"] ? "would be queued" : "queued"} as garbage (${r.sweep.seconds.toFixed(1)} s)`] : []),
        `${values["dry-run"] ? "would delete" : "deleted"} ${r.deleted} chunks, ${formatBytes(r.bytesFreed)} freed; ${r.examined} candidates examined, ${r.rereferenced} referenced again; ${r.seconds.toFixed(1)} s`,
        ...(r.reconciled ? [`${values["dry-run"] ? "would finish" : "finished"} ${r.reconciled} interrupted forget(s)`] : []),
        ...(r.indexed ? [`${values["dry-run"] ? "would index" : "indexed"} ${r.indexed} snapshot record(s) the catalog did not know; their chunks are kept`] : []),
        ...r.unindexable,
      ].join("\n"),
    );
    return EXIT.OK;
  },
};
