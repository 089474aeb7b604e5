import { pruneSources } from "../../prune/prune-sources.js";
import { retentionSchema, type RetentionRules } from "../../policy/index.js";
import { EXIT } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { str, type Command, type OptionValues } from "../command.js";
import { formatBytes } from "../output.js";
import { withContext } from "./with-context.js";

const KEEPS = ["last", "hourly", "daily", "weekly", "monthly", "yearly"] as const;

/** Retention from --keep-* flags, or null when none was given (then each source's policy decides). */
function flagRules(v: OptionValues): RetentionRules | null {
  const raw: Record<string, unknown> = {};
  for (const k of KEEPS) {
    const s = str(v, `keep-${k}`);
    if (s === undefined) continue;
    if (!/^\d+$/.test(s)) throw new UsageError(`--keep-${k} takes a whole number`);
    raw[`keep${k[0]!.toUpperCase()}${k.slice(1)}`] = Number(s);
  }
  const within = str(v, "keep-within");
  if (within) raw.keepWithin = within;
  if (Object.keys(raw).length === 0) return null;
  const r = retentionSchema.safeParse(raw);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => i.message).join("; "));
  return r.data;
}

export const pruneCommand: Command = {
  name: ["prune"],
  usage: "pullback prune [NODE [SOURCE]] [--dry-run] [--gc] [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] [--keep-within 7d]",
  summary: "forget snapshots the retention rules do not keep (the source's policy, or --keep-* flags); never the newest successful one, never a protected one",
  args: [0, 2],
  options: {
    "dry-run": { type: "boolean" },
    gc: { type: "boolean" },
    ...Object.fromEntries(KEEPS.map((k) => [`keep-${k}`, { type: "string" as const }])),
    "keep-within": { type: "string" },
  },
  async run({ positionals, values, homeDir, out }) {
    const [node, source] = positionals;
    const dryRun = values["dry-run"] === true;
    const flags = flagRules(values);
    const result = await withContext(homeDir, (ctx) =>
      pruneSources(ctx, { ...(node ? { node } : {}), ...(source ? { source } : {}), dryRun, rules: flags, gc: values.gc === true, reconcile: true }),
    );
    out.result(result, () =>
      [
        ...result.lines.map((l) => `${l.action === "keep" ? "keep  " : dryRun ? "would forget" : "forget"} ${l.node}/${l.source} ${l.snapshot} ${l.time}  (${l.why})`),
        ...result.notes,
        ...(result.gc?.unindexable ?? []),
        dryRun ? "dry run: nothing was changed" : `${result.lines.filter((l) => l.action === "forget").length} snapshot(s) forgotten, ${result.gcCandidates} chunks now unreferenced${result.gc ? `; gc freed ${formatBytes(result.gc.bytesFreed)}` : " (run `pullback gc` to free them)"}`,
      ].join("\n"),
    );
    return EXIT.OK;
  },
};
