import { readManifest } from "../../store/manifest-io.js";
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
      const catalog = await ctx.catalog();
      let added = 0;
      let known = 0;
      const records = await ctx.store.snapshots.list();
      for (const r of records) {
        // Sources recreated from a record get an empty config: their paths live only in the catalog.
        await catalog.ensureSource(r.node, r.source, r.sourceType);
        const res = await catalog.recordSnapshot(r, readManifest(ctx.store.chunks, r.manifest));
        if (res.created) added++;
        else known++;
      }
      return { records: records.length, added, alreadyKnown: known };
    });
    out.result(summary, () => `${summary.records} snapshot records in the store: ${summary.added} added to the catalog, ${summary.alreadyKnown} already there`);
    return EXIT.OK;
  },
};
