/** Plain-text tables for terminal output and for pasting into docs (Markdown pipe syntax). */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** MB here is 10^6 bytes, as the tools we compare with print it. */
export function mbps(bytes: number, seconds: number): string {
  return seconds > 0 ? (bytes / 1e6 / seconds).toFixed(0) : "-";
}

export function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
