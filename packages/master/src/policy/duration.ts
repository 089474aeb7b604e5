/**
 * Durations as operators write them, one spelling for every flag and config field: s, min, h, d, w,
 * mo (or month/months) and y. A bare "m" is refused, because `--grace 15m` used to mean minutes while
 * `keepWithin: 15m` (restic's spelling) meant months.
 *
 * Two kinds: calendar durations (keepWithin), where months and years are calendar steps as in restic,
 * and fixed durations (--grace, --idle-timeout, --deadline), which are milliseconds and so take no
 * months or years.
 */
import { DurationError } from "../errors.js";

export interface CalendarDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

type Part = keyof CalendarDuration | "minutes" | "seconds";

/** Longest spelling first, so "months" is not read as "mo" + "nths" and "min" not as "m" + "in". */
const UNITS: [string, Part, number][] = [
  ["months", "months", 1],
  ["month", "months", 1],
  ["min", "minutes", 1],
  ["mo", "months", 1],
  ["s", "seconds", 1],
  ["h", "hours", 1],
  ["d", "days", 1],
  ["w", "days", 7],
  ["y", "years", 1],
];

type Parts = Record<Part, number>;

/** The parts of "1y6mo", "2d12h", "90s"…, or the message to show (naming the fix for a bare "m"). */
function parseParts(text: string, example: string): Parts | string {
  const s = text.trim();
  const tokens = [...s.matchAll(/(\d+)([a-z]+)/g)];
  if (!s || tokens.map((t) => t[0]).join("") !== s) return `invalid duration "${text}": write e.g. ${example}`;
  const parts: Parts = { years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: 0 };
  for (const [token, n, unit] of tokens) {
    if (unit === "m") return `${token} is ambiguous: write ${n}min for minutes or ${n}mo for months`;
    const u = UNITS.find(([name]) => name === unit);
    if (!u) return `invalid duration "${text}": "${unit}" is not a unit (s, min, h, d, w, mo, y)`;
    parts[u[1]] += Number(n) * u[2];
  }
  return parts;
}

/** Null when `text` is a valid keepWithin, else what is wrong with it. */
export function keepWithinProblem(text: string): string | null {
  const r = parseParts(text, '"7d", "2d12h" or "1y6mo" (units y, mo, w, d, h)');
  if (typeof r === "string") return r.startsWith("invalid") ? `keepWithin must be a duration like "7d", "2d12h" or "1y6mo" (units y, mo, w, d, h)` : r;
  if (r.minutes || r.seconds) return `keepWithin counts in y, mo, w, d and h, not minutes or seconds (given ${text})`;
  return null;
}

/** Null when the text is not a valid keepWithin (see keepWithinProblem for why); units may repeat, as in restic. */
export function parseKeepWithin(text: string): CalendarDuration | null {
  if (keepWithinProblem(text) !== null) return null;
  const r = parseParts(text, "") as Parts;
  return { years: r.years, months: r.months, days: r.days, hours: r.hours };
}

/** A fixed duration ("90s", "15min", "1h", "2d", "1w") in milliseconds; throws DurationError otherwise. */
export function parseFixedDuration(text: string): number {
  const r = parseParts(text, "90s, 15min, 1h, 2d or 1w");
  if (typeof r === "string") throw new DurationError(r);
  if (r.years || r.months) throw new DurationError(`${text}: months and years have no fixed length here; give days (d) or weeks (w)`);
  return (((r.days * 24 + r.hours) * 60 + r.minutes) * 60 + r.seconds) * 1000;
}

/**
 * restic's canonical spelling ("1y1m1d", zero parts left out), so retention reasons read as restic's
 * do; this is output only, and the "m" here is months.
 */
export function formatDuration(d: CalendarDuration): string {
  const parts: [number, string][] = [[d.years, "y"], [d.months, "m"], [d.days, "d"], [d.hours, "h"]];
  return parts.filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`).join("") || "0h";
}

/**
 * `from` minus the duration the way Go's AddDate does it (restic's reference): calendar fields are
 * subtracted and then normalised, so 31 March minus 1 month is 3 March, not the end of February.
 * Computed in UTC: a DST shift can move the cut by an hour, which keepWithin's purpose tolerates.
 */
export function subtractDuration(from: Date, d: CalendarDuration): Date {
  const shifted = Date.UTC(
    from.getUTCFullYear() - d.years,
    from.getUTCMonth() - d.months,
    from.getUTCDate() - d.days,
    from.getUTCHours(),
    from.getUTCMinutes(),
    from.getUTCSeconds(),
    from.getUTCMilliseconds(),
  );
  return new Date(shifted - d.hours * 3_600_000);
}
