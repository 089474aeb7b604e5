/**
 * Command output: tables and sentences for people, one JSON document with --json for scripts.
 * Progress goes to stderr and only to a terminal, so pipes and --json stay clean. Human output shows
 * terminal control characters as visible escapes, here, once for every command (terminal-text.ts).
 */
import { blockText, inlineText } from "./terminal-text.js";

import { formatBytes } from "../util/format-bytes.js";

export { formatBytes };

export class Output {
  private lastProgress = 0;
  private progressShown = false;
  private readonly started = Date.now();

  constructor(readonly json: boolean) {}

  /** Prints `data` as JSON, or the human rendering. */
  result(data: unknown, human: () => string): void {
    this.clearProgress();
    process.stdout.write(this.json ? JSON.stringify(data, null, 2) + "\n" : blockText(human()) + "\n");
  }

  note(message: string): void {
    this.clearProgress();
    if (!this.json) process.stderr.write(blockText(message) + "\n");
  }

  /** The command's failure on stderr (the message may quote a node's error text). */
  error(message: string): void {
    this.clearProgress();
    process.stderr.write(`pullback: ${blockText(message)}\n`);
  }

  progress(files: number, bytes: number, path = ""): void {
    if (this.json || !process.stderr.isTTY) return;
    const now = Date.now();
    if (now - this.lastProgress < 200) return;
    this.lastProgress = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? bytes / secs : 0;
    const line = `${files} files, ${formatBytes(bytes)}, ${formatBytes(rate)}/s ${inlineText(path)}`;
    const cols = process.stderr.columns || 100;
    process.stderr.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
    this.progressShown = true;
  }

  private clearProgress(): void {
    if (this.progressShown) process.stderr.write("\r\x1b[K");
    this.progressShown = false;
  }
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => inlineText(String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}
