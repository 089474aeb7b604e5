/**
 * The comparison tables: each tool's repeated runs reduced to median (min), speeds relative to
 * restic and to borg's default (lz4), plus per-process memory and wire bytes for the gRPC path.
 */
import type { StepResult, ToolResult } from "./harness.js";
import { secs, statOf, type Stat } from "./stats.js";
import { markdownTable, mbps, mib } from "./table.js";
import type { StepName } from "./tools.js";
import type { TreeSize } from "./tree.js";

const REFS = ["restic", "borg lz4"];
const STEPS: StepName[] = ["init", "backup", "backup2", "restore"];

export interface StepSummary {
  seconds: Stat;
  peakRssBytes: Stat;
  agentPeakRssBytes?: Stat;
  bytesSent?: Stat;
  jobSeconds?: Stat;
}

export interface ToolSummary {
  tool: string;
  runs: number;
  errors: string[];
  steps: Partial<Record<StepName, StepSummary>>;
  storedBytes?: Stat;
  storedGrowthBytes?: Stat;
  restoredAllocated?: Stat;
  /** Every successful run restored the whole corpus. */
  restoreComplete: boolean;
}

function summarizeStep(steps: StepResult[]): StepSummary | undefined {
  const seconds = statOf(steps, (s) => s.seconds);
  const peakRssBytes = statOf(steps, (s) => s.peakRssBytes);
  if (!seconds || !peakRssBytes) return undefined;
  const out: StepSummary = { seconds, peakRssBytes };
  const agent = statOf(steps, (s) => s.agentPeakRssBytes);
  const sent = statOf(steps, (s) => s.bytesSent);
  const job = statOf(steps, (s) => s.jobSeconds);
  if (agent) out.agentPeakRssBytes = agent;
  if (sent) out.bytesSent = sent;
  if (job) out.jobSeconds = job;
  return out;
}

export function summarize(tool: string, runs: ToolResult[]): ToolSummary {
  const ok = runs.filter((r) => !r.error);
  const steps: Partial<Record<StepName, StepSummary>> = {};
  for (const name of STEPS) {
    const s = summarizeStep(ok.map((r) => r[name]).filter((x): x is StepResult => x !== undefined));
    if (s) steps[name] = s;
  }
  const out: ToolSummary = {
    tool,
    runs: ok.length,
    errors: runs.flatMap((r) => (r.error ? [r.error] : [])),
    steps,
    restoreComplete: ok.length > 0 && ok.every((r) => r.restoreComplete === true),
  };
  const stored = statOf(ok, (r) => r.storedBytes);
  const growth = statOf(ok, (r) => r.storedGrowthBytes);
  const alloc = statOf(ok, (r) => r.restored?.allocated);
  if (stored) out.storedBytes = stored;
  if (growth) out.storedGrowthBytes = growth;
  if (alloc) out.restoredAllocated = alloc;
  return out;
}

/**
 * The reason a run failed, without the command line (it names this machine's paths) or stack
 * frames: the last line of the tool's own message.
 */
export function failureReason(error: string): string {
  const lines = error.split("\n").slice(1).filter((l) => l.trim() && !/^\s+at /.test(l) && !l.trimStart().startsWith("{"));
  return (lines.at(-1) ?? error.split("\n")[0] ?? "").trim().slice(0, 200);
}

/** How many times faster than the reference, on medians. */
export function ratio(mine: Stat | undefined, theirs: Stat | undefined): string {
  return mine && theirs && mine.median > 0 ? `${(theirs.median / mine.median).toFixed(2)}x` : "-";
}

const med = (s: Stat | undefined): number => s?.median ?? 0;
const maxMiB = (s: Stat | undefined): string => (s ? mib(s.max) : "-");

export function renderTable(summaries: ToolSummary[], corpus: TreeSize): string {
  const refs = REFS.map((n) => summaries.find((s) => s.tool === n && s.runs > 0));
  const rows = summaries.map((s) => {
    if (s.runs === 0) return [s.tool, "0", "FAILED, see below"];
    const { init, backup, backup2, restore } = s.steps;
    return [
      s.tool,
      String(s.runs),
      secs(init?.seconds),
      secs(backup?.seconds),
      mbps(corpus.apparent, med(backup?.seconds)),
      ...refs.map((ref) => ratio(backup?.seconds, ref?.steps.backup?.seconds)),
      secs(backup2?.seconds, 2),
      ...refs.map((ref) => ratio(backup2?.seconds, ref?.steps.backup2?.seconds)),
      secs(restore?.seconds),
      mbps(corpus.apparent, med(restore?.seconds)),
      ...refs.map((ref) => ratio(restore?.seconds, ref?.steps.restore?.seconds)),
      mib(med(s.storedBytes)),
      (corpus.apparent / (med(s.storedBytes) || 1)).toFixed(2),
      mib(med(s.storedGrowthBytes)),
      maxMiB(backup?.peakRssBytes),
      maxMiB(restore?.peakRssBytes),
      s.restoreComplete ? `ok, ${mib(med(s.restoredAllocated))} alloc` : "MISMATCH",
    ];
  });
  return markdownTable(
    [
      "tool", "runs", "init s", "backup s", "MB/s", "vs restic", "vs borg", "2nd s", "vs restic", "vs borg",
      "restore s", "MB/s", "vs restic", "vs borg", "stored MiB", "logical/stored", "2nd +MiB",
      "backup RSS MiB", "restore RSS MiB", "restore check",
    ],
    rows,
  );
}

/** Tools with a separate agent process: each process's peak memory, the wire, the in-job time. */
export function renderProcessTable(summaries: ToolSummary[]): string | null {
  const rows: string[][] = [];
  for (const s of summaries) {
    for (const name of STEPS) {
      const st = s.steps[name];
      if (!st?.agentPeakRssBytes) continue;
      rows.push([
        s.tool,
        name === "backup2" ? "2nd backup (incremental)" : name === "backup" ? "backup (full)" : name,
        secs(st.seconds, 2),
        secs(st.jobSeconds, 2),
        maxMiB(st.peakRssBytes),
        maxMiB(st.agentPeakRssBytes),
        st.bytesSent ? mib(st.bytesSent.median) : "-",
      ]);
    }
  }
  if (!rows.length) return null;
  return markdownTable(["tool", "step", "wall s", "in-job s", "master RSS MiB", "agent RSS MiB", "sent MiB"], rows);
}
