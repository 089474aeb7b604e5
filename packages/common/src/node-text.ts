/**
 * Text a node sends (warnings, paths in warnings and progress) is hostile in size and content. One
 * session of 400 warnings of 8 MiB each ran the master out of heap and added 3.2 GB to job_logs.
 * Everything kept is cut to a few KiB and escaped; only the first warnings of a job are kept, the
 * rest counted.
 */

/** Longest piece of node text kept, in characters (before escaping). */
export const MAX_NODE_TEXT = 4096;
/** Warnings kept per job: in memory, in the snapshot record and in job_logs. */
export const MAX_WARNINGS_KEPT = 1000;

// Control characters would let a node rewrite an operator's terminal or forge log lines.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Cut to `max` characters with a marker saying how much was dropped. */
export function cutText(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}… [${s.length - max} more characters not kept]` : s;
}

/** Cut to `max` characters, control characters escaped: node text as the master keeps it. */
export function boundText(s: string, max = MAX_NODE_TEXT): string {
  return cutText(s, max).replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The warning line kept for a path and a message, both bounded; an empty path is left out. */
export function warningLine(path: string, message: string): string {
  return path === "" ? boundText(message) : `${boundText(path)}: ${boundText(message)}`;
}

/** The first MAX_WARNINGS_KEPT warnings of a job, and how many more there were. */
export class WarningList {
  private readonly kept: string[] = [];
  private dropped = 0;

  constructor(private readonly limit = MAX_WARNINGS_KEPT) {}

  /** Returns the line as kept, or null when it only counted. */
  add(path: string, message: string): string | null {
    if (this.kept.length >= this.limit) {
      this.dropped++;
      return null;
    }
    const line = warningLine(path, message);
    this.kept.push(line);
    return line;
  }

  /** How many warnings were counted but not kept. */
  get notKept(): number {
    return this.dropped;
  }

  /** The line that stands for the warnings not kept, or null when all were kept. */
  summary(): string | null {
    return this.dropped ? `${this.dropped} more warning(s) not kept (only the first ${this.limit} of a job are)` : null;
  }

  /** The kept lines, then the summary if any: what a record or report shows. */
  lines(): string[] {
    const s = this.summary();
    return s ? [...this.kept, s] : [...this.kept];
  }
}
