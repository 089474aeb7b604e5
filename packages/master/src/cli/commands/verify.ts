import { verifySnapshots } from "../../verify/verify-snapshots.js";
import { EXIT } from "../exit-codes.js";
import type { Command } from "../command.js";
import { formatBytes } from "../output.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

export const verifyCommand: Command = {
  name: ["verify"],
  usage: "pullback verify [SNAPSHOT...] [--repair]",
  summary: "read back every chunk the snapshots need and check its SHA-256; list damaged chunks with the snapshots and files they break (exit 1 when any); --repair sets them aside so the next backups store them again",
  args: [0, 1000],
  options: { repair: { type: "boolean" } },
  async run({ positionals, values, homeDir, out }) {
    const repair = values.repair === true;
    const r = await withContext(homeDir, (ctx) =>
      verifySnapshots(ctx, { snapshots: positionals, repair, onProgress: (chunks, bytes) => out.progress(chunks, bytes, "(chunks checked)") }),
    );
    out.result(r, () =>
      [
        `${r.snapshots} snapshot(s), ${r.chunks} chunks, ${formatBytes(r.bytes)} read back in ${r.seconds.toFixed(1)} s: ` +
          (r.damaged.length ? `${r.damaged.length} chunk(s) DAMAGED` : "all intact"),
        ...r.damaged.flatMap((d) => [
          `chunk ${d.chunk}: ${d.problem}`,
          ...d.usedBy.map((u) => `  snapshot ${u.snapshot} (${u.node}/${u.source}): ${u.files.length ? u.files.map(inlineText).join(", ") : "its manifest (the whole snapshot)"}`),
        ]),
        ...(r.damaged.length && repair
          ? [`${r.setAside} chunk(s) set aside: the next backup of each affected source sends them again if the source still has the data, and every snapshot above is whole again once it has. Run verify again after it.`]
          : r.damaged.length
            ? ["Restores of these files will fail until the data is stored again: run `pullback verify --repair`, then back up the affected sources."]
            : []),
      ].join("\n"),
    );
    return r.damaged.length ? EXIT.FAILED : EXIT.OK;
  },
};
