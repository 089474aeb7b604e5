/**
 * Summary of a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by module, so the
 * benchmark can say where a slow backup spends its time without opening DevTools.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled time, idle excluded (shares are of this). */
  totalMs: number;
  idleMs: number;
  byFunction: { name: string; ms: number; share: number }[];
  byModule: { name: string; ms: number; share: number }[];
}

/** Where a script URL belongs: a workspace package file, a dependency, or Node itself. */
function moduleOf(url: string): string {
  if (!url) return "(native / V8)";
  if (url.startsWith("node:")) return url;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  const pkg = /packages\/([^/]+)\/dist\/(.*)$/.exec(url);
  if (pkg) return `@pullback/${pkg[1]}/${pkg[2]!.replace(/^src\//, "")}`;
  return url.replace(/^.*\//, "");
}

export function summarizeProfile(path: string, top = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    const m = moduleOf(n.callFrame.url);
    const name = `${n.callFrame.functionName || "(anonymous)"} ${m}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    mod.set(m, (mod.get(m) ?? 0) + us);
    total += us;
  }
  const rank = (m: Map<string, number>): ProfileSummary["byFunction"] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: us / total }));
  return { totalMs: Math.round(total / 1000), idleMs: Math.round(idle / 1000), byFunction: rank(fn), byModule: rank(mod) };
}

export function renderProfile(title: string, s: ProfileSummary): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`.padStart(6);
  return [
    `${title}: ${(s.totalMs / 1000).toFixed(2)} s on CPU (${(s.idleMs / 1000).toFixed(2)} s idle not counted)`,
    "  self time by module:",
    ...s.byModule.map((r) => `    ${pct(r.share)} ${String(r.ms).padStart(7)} ms  ${r.name}`),
    "  self time by function:",
    ...s.byFunction.map((r) => `    ${pct(r.share)} ${String(r.ms).padStart(7)} ms  ${r.name}`),
  ].join("\n");
}
