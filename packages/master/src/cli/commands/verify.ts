import { verifyStore } from "../../verify/verifier.js";
import { EXIT } from "../exit-codes.js";
import type { Command } from "../command.js";
import { formatBytes } from "../output.js";
import { withContext } from "./with-context.js";

export const verifyCommand: Command = {
  name: ["verify"],
  usage: "pullback verify [SNAPSHOT...]",
  summary: "read back every chunk the snapshots need and check its SHA-256; list damaged chunks with the snapshots and files they break (exit 1 when any)",
  args: [0, 1000],
  async run({ positionals, homeDir, out }) {
    const r = await withContext(homeDir, async (ctx) => {
      const snapshots = positionals.length ? await Promise.all(positionals.map((id) => ctx.store.snapshots.find(id))) : undefined;
      return verifyStore(ctx.store, { ...(snapshots ? { snapshots } : {}), onProgress: (chunks, bytes) => out.progress(chunks, bytes, "(chunks checked)") });
    });
    out.result(r, () =>
      [
        `${r.snapshots} snapshot(s), ${r.chunks} chunks, ${formatBytes(r.bytes)} read back in ${r.seconds.toFixed(1)} s: ` +
          (r.damaged.length ? `${r.damaged.length} chunk(s) DAMAGED` : "all intact"),
        ...r.damaged.flatMap((d) => [
          `chunk ${d.chunk}: ${d.problem}`,
          ...d.usedBy.map((u) => `  snapshot ${u.snapshot} (${u.node}/${u.source}): ${u.files.length ? u.files.join(", ") : "its manifest (the whole snapshot)"}`),
        ]),
        ...(r.damaged.length
          ? ["Restores of these files will fail. If the sources still have the data, back them up with --level full into a new store, or forget the affected snapshots once newer ones exist."]
          : []),
      ].join("\n"),
    );
    return r.damaged.length ? EXIT.FAILED : EXIT.OK;
  },
};
