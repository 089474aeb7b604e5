/**
 * When a failed job is tried again: exponential backoff from the policy, never past the point where
 * the next scheduled slot would take over anyway.
 */
import type { RetryRules } from "./policy.js";

/** Doubling forever would schedule retries weeks out; a day is already longer than any window. */
export const MAX_BACKOFF_MS = 24 * 3_600_000;

/**
 * @param failures how many attempts have failed so far (1 after the first failure).
 * @param notAfter typically the next slot's time or the window end; a retry at or after it is dropped.
 * @returns when to start the next attempt, or null when retries are exhausted.
 */
export function nextRetryAt(retries: RetryRules, failures: number, failedAt: Date, notAfter?: Date): Date | null {
  if (failures < 1 || failures > retries.max) return null;
  const delay = Math.min(retries.backoffSeconds * 1000 * 2 ** (failures - 1), MAX_BACKOFF_MS);
  const at = new Date(failedAt.getTime() + delay);
  return notAfter && at >= notAfter ? null : at;
}
