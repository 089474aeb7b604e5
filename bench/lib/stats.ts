/** Repeated measurements reduced to min / median / max, so one burst of load elsewhere does not decide. */
export interface Stat {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { min: v[0]!, median, max: v[v.length - 1]!, n: v.length };
}

/** The stat of one field over the items that have it. */
export function statOf<T>(items: T[], pick: (t: T) => number | undefined): Stat | undefined {
  return stat(items.map(pick).filter((x): x is number => x !== undefined));
}

/** "median (min)" in seconds, the form every timing cell uses. */
export function secs(s: Stat | undefined, digits = 1): string {
  if (!s) return "-";
  return s.n > 1 ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)})` : s.median.toFixed(digits);
}
