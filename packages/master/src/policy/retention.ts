/**
 * Which snapshots of one source retention keeps, and why. The keep-* rules follow restic's documented
 * `forget` semantics (so an operator's restic policy means the same here), with three rules of ours
 * on top: a protected snapshot is never forgotten, the newest successful snapshot is never forgotten,
 * and only successful snapshots count toward (or are kept by) the keep-* rules.
 *
 * Pure: the caller lists the snapshots and applies the plan; a dry run prints it.
 */
import { formatDuration, parseKeepWithin, subtractDuration } from "./duration.js";
import type { RetentionRules } from "./policy.js";

export interface RetentionSnapshot {
  id: string;
  time: Date;
  /** Complete (possibly with warnings). A damaged or failed snapshot is false. */
  successful: boolean;
  protected: boolean;
}

export interface RetentionDecision<S extends RetentionSnapshot = RetentionSnapshot> {
  snapshot: S;
  action: "keep" | "forget";
  /** Every rule that keeps it, in restic's wording where restic has one ("daily snapshot", "within 7d"). */
  reasons: string[];
  /** For a forgotten snapshot: why nothing kept it. */
  because?: string;
}

export interface RetentionOptions {
  /** Where hours, days, weeks, months and years begin. Default UTC; pass the policy's time zone. */
  timezone?: string;
}

type Bucketer = (t: CalendarParts, nr: number) => number;

interface CalendarParts {
  year: number;
  month: number;
  day: number;
  hour: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(tz: string, t: Date): CalendarParts {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric" });
    formatters.set(tz, f);
  }
  const v: Record<string, number> = {};
  for (const p of f.formatToParts(t)) if (p.type !== "literal") v[p.type] = Number(p.value);
  return { year: v.year ?? 0, month: v.month ?? 0, day: v.day ?? 0, hour: v.hour ?? 0 };
}

/** ISO 8601 week as YYYYWW, like Go's ISOWeek: weeks run Monday to Sunday, week 1 holds a Thursday. */
function isoWeek({ year, month, day }: CalendarParts): number {
  const d = new Date(Date.UTC(year, month - 1, day));
  const weekday = (d.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(d.getTime() + (3 - weekday) * 86_400_000);
  const isoYear = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * 86_400_000));
  return isoYear * 100 + week;
}

const BUCKETS: { rule: keyof Omit<RetentionRules, "keepWithin">; name: string; bucket: Bucketer }[] = [
  // keep-last: every snapshot is its own bucket.
  { rule: "keepLast", name: "last", bucket: (_t, nr) => nr },
  { rule: "keepHourly", name: "hourly", bucket: (t) => ((t.year * 100 + t.month) * 100 + t.day) * 100 + t.hour },
  { rule: "keepDaily", name: "daily", bucket: (t) => (t.year * 100 + t.month) * 100 + t.day },
  { rule: "keepWeekly", name: "weekly", bucket: isoWeek },
  { rule: "keepMonthly", name: "monthly", bucket: (t) => t.year * 100 + t.month },
  { rule: "keepYearly", name: "yearly", bucket: (t) => t.year },
];

function isEmpty(rules: RetentionRules): boolean {
  return BUCKETS.every((b) => rules[b.rule] === 0) && !rules.keepWithin;
}

export function planRetention<S extends RetentionSnapshot>(
  snapshots: readonly S[],
  rules: RetentionRules,
  now: Date,
  options: RetentionOptions = {},
): RetentionDecision<S>[] {
  const tz = options.timezone ?? "UTC";
  // Newest first, ties in input order: restic evaluates (and counts buckets) in this order.
  const list = snapshots
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.time.getTime() - a.s.time.getTime() || a.i - b.i)
    .map(({ s }) => s);
  const decisions = list.map((snapshot): RetentionDecision<S> => ({ snapshot, action: "forget", reasons: [] }));

  const counted = decisions.filter((d) => d.snapshot.successful);
  // restic: a snapshot dated in the future does not move "now" for keep-within.
  const newestSuccessful = counted.find((d) => d.snapshot.time <= now);

  if (isEmpty(rules)) {
    // restic refuses to act on an empty policy; forgetting everything is never what a typo meant.
    for (const d of decisions) d.reasons.push("policy is empty");
  } else {
    applyKeepRules(counted, rules, tz, newestSuccessful?.snapshot.time);
  }

  for (const d of decisions) {
    if (d.snapshot.protected) d.reasons.push("protected");
  }
  // Whatever the rules say, a source always keeps one snapshot it can be restored from.
  if (newestSuccessful && !newestSuccessful.reasons.includes("newest successful snapshot")) {
    newestSuccessful.reasons.push("newest successful snapshot");
  }

  for (const d of decisions) {
    if (d.reasons.length) d.action = "keep";
    else
      d.because = d.snapshot.successful
        ? "no keep rule matches it"
        : "not successful: keep rules count and keep only successful snapshots (protect it to keep it)";
  }
  return decisions;
}

/** restic's ApplyPolicy over the successful snapshots, newest first. */
function applyKeepRules<S extends RetentionSnapshot>(
  list: RetentionDecision<S>[],
  rules: RetentionRules,
  tz: string,
  latest: Date | undefined,
): void {
  const within = rules.keepWithin ? parseKeepWithin(rules.keepWithin) : null;
  // No snapshot at or before now: restic's "latest" is the zero time, so keep-within keeps them all.
  const withinCut = within && latest ? subtractDuration(latest, within) : null;
  const withinReason = within ? `within ${formatDuration(within)}` : "";
  const state = BUCKETS.map((b) => ({ ...b, left: rules[b.rule], last: Number.NaN }));

  list.forEach((d, nr) => {
    if (within && (!withinCut || d.snapshot.time > withinCut)) d.reasons.push(withinReason);
    const parts = partsIn(tz, d.snapshot.time);
    const oldest = nr === list.length - 1;
    for (const b of state) {
      if (b.left <= 0) continue;
      const value = b.bucket(parts, nr);
      if (value !== b.last) {
        d.reasons.push(`${b.name} snapshot`);
      } else if (oldest) {
        // restic ≥ 0.16: a rule that still has counts left also keeps the oldest snapshot, so a young
        // repository keeps its longest history instead of only its most recent days.
        d.reasons.push(`oldest ${b.name} snapshot`);
      } else continue;
      b.last = value;
      b.left--;
    }
  });
}
