import { describeUnindexable, tryIndexRecord } from "../../gc/reconcile.js";
import { EXIT } from "../exit-codes.js";
import type { Command } from "../command.js";
import { withContext } from "./with-context.js";

export const catalogRebuildCommand: Command = {
  name: ["catalog", "rebuild"],
  usage: "pullback catalog rebuild",
  summary: "re-index every snapshot record of the store into the catalog (the store is the truth)",
  args: [0, 0],
  async run({ homeDir, out }) {
    const summary = await withContext(homeDir, async (ctx) => {
      let added = 0;
      let known = 0;
      const skipped: string[] = [];
      const records = await ctx.store.snapshots.list();
      for (const r of records) {
        const outcome = await tryIndexRecord(ctx, r);
        if (outcome === true) added++;
        else if (outcome === false) known++;
        else skipped.push(describeUnindexable(outcome));
      }
      return { records: records.length, added, alreadyKnown: known, skipped };
    });
    out.result(summary, () =>
      [
        `${summary.records} snapshot records in the store: ${summary.added} added to the catalog, ${summary.alreadyKnown} already there${summary.skipped.length ? `, ${summary.skipped.length} skipped:` : ""}`,
        ...summary.skipped.map((s) => `  ${s}`),
      ].join("\n"),
    );
    // Finished, but not everything is in the catalog: monitoring must see it.
    return summary.skipped.length ? EXIT.WARNINGS : EXIT.OK;
  },
};
