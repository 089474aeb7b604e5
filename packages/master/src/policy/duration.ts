/**
 * restic's calendar durations ("1y5m7d2h"), so a keepWithin copied from a restic setup means the same
 * here: months and years are calendar steps, not fixed numbers of days.
 */

export interface CalendarDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const UNIT = { y: "years", m: "months", d: "days", h: "hours" } as const;

/** Null when the text is not a duration; units may come in any order and repeat, as in restic. */
export function parseKeepWithin(text: string): CalendarDuration | null {
  const s = text.trim();
  if (!/^(\d+[ymdh])+$/.test(s)) return null;
  const d: CalendarDuration = { years: 0, months: 0, days: 0, hours: 0 };
  for (const m of s.matchAll(/(\d+)([ymdh])/g)) {
    d[UNIT[m[2] as keyof typeof UNIT]] += Number(m[1]);
  }
  return d;
}

/** restic's canonical spelling ("1y1m1d", zero parts left out), so reasons read the same as restic's. */
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
