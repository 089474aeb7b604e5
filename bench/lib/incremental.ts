/**
 * The no-change incremental comparison: back a tree of many small files up once, then time repeated
 * backups of the unchanged tree (restic's next `backup`, `pullback backup --level incremental`, …).
 * Every repeat is a true no-change incremental, since nothing touches the tree in between.
 */
import { rmSync } from "node:fs";
import { contextFor, runStep, withTool, type StepResult } from "./harness.js";
import { ratio } from "./report.js";
import { secs, statOf, type Stat } from "./stats.js";
import { markdownTable, mib } from "./table.js";
import type { BackupTool } from "./tools.js";

export interface IncrementalResult {
  tool: string;
  error?: string;
  first?: StepResult;
  unchanged: StepResult[];
}

export async function runIncremental(tool: BackupTool, work: string, tree: string, repeats: number, log: (m: string) => void): Promise<IncrementalResult> {
  const ctx = contextFor(tool, work, tree);
  const r: IncrementalResult = { tool: tool.name, unchanged: [] };
  await withTool(tool, ctx, r, async () => {
    const init = tool.init;
    if (init) await runStep(tool, "init", () => init(ctx));
    r.first = await runStep(tool, "backup", () => tool.backup(ctx, 1));
    log(`  ${tool.name}: first backup ${r.first.seconds.toFixed(1)} s`);
    for (let i = 0; i < repeats; i++) {
      const s = await runStep(tool, "backup2", () => tool.backup(ctx, i + 2));
      log(`  ${tool.name}: unchanged backup ${i + 1}: ${s.seconds.toFixed(2)} s`);
      r.unchanged.push(s);
    }
  });
  rmSync(ctx.target, { recursive: true, force: true });
  if (!r.error) rmSync(ctx.repo, { recursive: true, force: true });
  return r;
}

const maxMiB = (s: Stat | undefined): string => (s ? mib(s.max) : "-");

export function renderIncremental(results: IncrementalResult[], files: number): string {
  const second = (r: IncrementalResult | undefined): Stat | undefined => (r ? statOf(r.unchanged, (s) => s.seconds) : undefined);
  const restic = results.find((r) => r.tool === "restic" && !r.error);
  const borg = results.find((r) => r.tool === "borg lz4" && !r.error);
  const rows = results.map((r) => {
    if (r.error && !r.unchanged.length) return [r.tool, "FAILED, see below"];
    const s = second(r);
    return [
      r.tool,
      r.first ? r.first.seconds.toFixed(1) : "-",
      secs(s, 2),
      s ? (files / s.median).toFixed(0) : "-",
      ratio(s, second(restic)),
      ratio(s, second(borg)),
      secs(statOf(r.unchanged, (x) => x.jobSeconds), 2),
      maxMiB(statOf(r.unchanged, (x) => x.peakRssBytes)),
      maxMiB(statOf(r.unchanged, (x) => x.agentPeakRssBytes)),
      r.unchanged.some((x) => x.bytesSent !== undefined) ? mib(statOf(r.unchanged, (x) => x.bytesSent)?.median ?? 0) : "-",
      r.first?.bytesSent !== undefined ? mib(r.first.bytesSent) : "-",
    ];
  });
  return markdownTable(
    ["tool", "1st backup s", "unchanged s", "files/s", "vs restic", "vs borg", "in-job s", "RSS MiB", "agent RSS MiB", "sent MiB", "1st sent MiB"],
    rows,
  );
}
