import { rebuildCatalog } from "../../gc/rebuild-catalog.js";
import { EXIT } from "../exit-codes.js";
import type { Command } from "../command.js";
import { withContext } from "./with-context.js";

export const catalogRebuildCommand: Command = {
  name: ["catalog", "rebuild"],
  usage: "pullback catalog rebuild",
  summary: "re-index every snapshot record of the store into the catalog (the store is the truth)",
  args: [0, 0],
  async run({ homeDir, out }) {
    const summary = await withContext(homeDir, (ctx) => rebuildCatalog(ctx));
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
