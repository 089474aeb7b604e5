import { DurationError, UsageError } from "../errors.js";
import { parseFixedDuration } from "../policy/duration.js";

/** A duration flag's value in milliseconds (units s, min, h, d, w); a bad spelling is a usage error. */
export function durationFlag(key: string, text: string): number {
  try {
    return parseFixedDuration(text);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--${key}: ${err.message}`);
    throw err;
  }
}
