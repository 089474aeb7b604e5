import { collectGarbage, fullSweep } from "../../gc/garbage-collector.js";
import { forgetSnapshot } from "../../gc/forget-snapshot.js";
import { durationFlag } from "../durations.js";
import { EXIT } from "../exit-codes.js";
import { str, type Command } from "../command.js";
import { formatBytes } from "../output.js";
import { withContext } from "./with-context.js";

export const forgetCommand: Command = {
  name: ["forget"],
  usage: "pullback forget SNAPSHOT...",
  summary: "delete snapshots (their chunks are freed by the next `pullback gc`)",
  args: [1, 1000],
  async run({ positionals, homeDir, out }) {
    const done = await withContext(homeDir, async (ctx) => {
      const results = [];
      for (const id of positionals) {
        const record = await ctx.store.snapshots.find(id);
        results.push({ id: record.id, ...(await forgetSnapshot(ctx, record)) });
      }
      return results;
    });
    out.result(done, () => done.map((d) => `forgot ${d.id} (${d.gcCandidates} chunks now unreferenced)`).join("\n"));
    return EXIT.OK;
  },
};

export const protectCommand: Command = {
  name: ["snapshot", "protect"],
  usage: "pullback snapshot protect SNAPSHOT [--off]",
  summary: "protect a snapshot from prune and forget (--off removes the protection)",
  args: [1, 1],
  options: { off: { type: "boolean" } },
  async run({ positionals, values, homeDir, out }) {
    const on = values.off !== true;
    const id = await withContext(homeDir, async (ctx) => {
      const record = await ctx.store.snapshots.find(positionals[0]!);
      await (await ctx.catalog()).setSnapshotProtected(record.id, on);
      return record.id;
    });
    out.result({ id, protected: on }, () => `snapshot ${id} ${on ? "is protected" : "is no longer protected"}`);
    return EXIT.OK;
  },
};

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
