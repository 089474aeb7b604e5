import { EXIT } from "../exit-codes.js";
import { positiveInt, str, type Command, type OptionValues } from "../command.js";
import { inlineText } from "../terminal-text.js";
import { withContext } from "./with-context.js";

export const jobsCommand: Command = {
  name: ["jobs"],
  usage: "pullback jobs [--status queued|running|succeeded|warning|failed|cancelled|skipped] [--node NODE] [--limit N]",
  summary: "list jobs with their status, level, bytes and error",
  args: [0, 0],
  options: { status: { type: "string" }, node: { type: "string" }, limit: { type: "string" } },
  async run({ values, homeDir, out }) {
    const jobs = await withJobs(homeDir, values);
    out.result(jobs, () =>
      jobs
        .map((j) => `${String(j.id).padStart(5)} ${j.status.padEnd(9)} ${(j.node ?? "-") + "/" + (j.source ?? "-")} ${j.level ?? j.requestedLevel ?? "-"} attempt ${j.attempt} ${j.createdAt.toISOString()}${j.error ? `\n        ${inlineText(j.error)}` : ""}`)
        .join("\n") || "no jobs",
    );
    return EXIT.OK;
  },
};

async function withJobs(homeDir: string, values: OptionValues) {
  return withContext(homeDir, async (ctx) => {
    const status = str(values, "status");
    const node = str(values, "node");
    return (await ctx.catalog()).jobs.list({
      ...(status ? { status: status as "queued" } : {}),
      ...(node ? { node } : {}),
      limit: positiveInt(values, "limit", 50),
    });
  });
}
