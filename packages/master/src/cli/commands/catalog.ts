import { indexRecord } from "../../gc/reconcile.js";
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
      const records = await ctx.store.snapshots.list();
      for (const r of records) {
        if (await indexRecord(ctx, r)) added++;
        else known++;
      }
      return { records: records.length, added, alreadyKnown: known };
    });
    out.result(summary, () => `${summary.records} snapshot records in the store: ${summary.added} added to the catalog, ${summary.alreadyKnown} already there`);
    return EXIT.OK;
  },
};
