/** Runs one tool through init, backup, unchanged second backup and restore, in fresh directories. */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runMeasured, type Command } from "./measure.js";
import type { BackupTool, StepExtras, StepName, ToolContext } from "./tools.js";
import { treeSize, type TreeSize } from "./tree.js";

export interface StepResult extends StepExtras {
  seconds: number;
  peakRssBytes: number;
}

export interface ToolResult {
  tool: string;
  error?: string;
  init?: StepResult;
  backup?: StepResult;
  backup2?: StepResult;
  restore?: StepResult;
  /** Repository size after the first backup, and what the unchanged second backup added. */
  storedBytes?: number;
  storedGrowthBytes?: number;
  restored?: TreeSize;
  /** Whether the restored tree matches the corpus in file count and apparent size. */
  restoreComplete?: boolean;
}

/** One timed step, with the tool's untimed hooks around it. */
export async function runStep(tool: BackupTool, step: StepName, command: () => Command): Promise<StepResult> {
  await tool.beforeStep?.(step);
  const m = await runMeasured(command());
  const extras = (await tool.afterStep?.(step, m.stdout)) ?? {};
  return { seconds: m.seconds, peakRssBytes: m.peakRssBytes, ...extras };
}

export function contextFor(tool: BackupTool, work: string, corpus: string): ToolContext {
  const slug = tool.name.replace(/[^a-z0-9]+/gi, "-");
  const ctx: ToolContext = {
    corpus,
    repo: join(work, "repos", slug),
    target: join(work, "restore", slug),
    scratch: join(work, "scratch", slug),
  };
  for (const d of [ctx.repo, ctx.target, ctx.scratch]) rmSync(d, { recursive: true, force: true });
  mkdirSync(join(work, "repos"), { recursive: true });
  mkdirSync(ctx.target, { recursive: true });
  mkdirSync(ctx.scratch, { recursive: true });
  return ctx;
}

/** setup → body → teardown, where teardown always runs and its failure is reported, not hidden. */
export async function withTool<T extends { error?: string }>(tool: BackupTool, ctx: ToolContext, r: T, body: () => Promise<void>): Promise<T> {
  try {
    await tool.setup?.(ctx);
    await body();
  } catch (err) {
    r.error = (err as Error).message;
  } finally {
    try {
      await tool.teardown?.();
    } catch (err) {
      r.error = `${r.error ? `${r.error}\n` : ""}teardown: ${(err as Error).message}`;
    }
  }
  return r;
}

export async function runTool(tool: BackupTool, work: string, corpus: string, expected: TreeSize): Promise<ToolResult> {
  const ctx = contextFor(tool, work, corpus);
  const r: ToolResult = { tool: tool.name };
  await withTool(tool, ctx, r, async () => {
    const init = tool.init;
    if (init) r.init = await runStep(tool, "init", () => init(ctx));
    r.backup = await runStep(tool, "backup", () => tool.backup(ctx, 1));
    r.storedBytes = treeSize(ctx.repo).apparent;
    r.backup2 = await runStep(tool, "backup2", () => tool.backup(ctx, 2));
    r.storedGrowthBytes = treeSize(ctx.repo).apparent - r.storedBytes;
    r.restore = await runStep(tool, "restore", () => tool.restore(ctx));
    r.restored = treeSize(tool.restoredRoot(ctx));
    r.restoreComplete = r.restored.files === expected.files && r.restored.apparent === expected.apparent;
  });
  // Keep the repository for inspection only when something failed; restores are never needed.
  rmSync(ctx.target, { recursive: true, force: true });
  if (!r.error) rmSync(ctx.repo, { recursive: true, force: true });
  return r;
}
