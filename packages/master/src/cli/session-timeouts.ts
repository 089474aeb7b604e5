/**
 * --idle-timeout and --deadline for commands that hold an agent's stream (backup, restore): a job
 * started by hand gets the master config's deadline unless the operator gives another.
 */
import type { SessionTimeouts } from "../links/connect-node.js";
import type { MasterContext } from "../master-context.js";
import { durationFlag } from "./durations.js";
import { UsageError } from "../errors.js";
import { str, type OptionSpec, type OptionValues } from "./command.js";

export const SESSION_TIMEOUT_OPTIONS: OptionSpec = {
  "idle-timeout": { type: "string" },
  deadline: { type: "string" },
};

export const SESSION_TIMEOUT_USAGE = "[--idle-timeout 10min] [--deadline 24h]";

export function manualSessionTimeouts(ctx: MasterContext, values: OptionValues): SessionTimeouts {
  const idle = positiveDuration(values, "idle-timeout");
  const deadline = positiveDuration(values, "deadline");
  return {
    idleMs: idle ?? ctx.home.config.timeouts.idleSeconds * 1000,
    deadlineMs: deadline ?? ctx.home.config.timeouts.manualDeadlineSeconds * 1000,
  };
}

/** Zero would mean "wait forever", which is what these limits exist to prevent. */
function positiveDuration(values: OptionValues, key: string): number | undefined {
  const text = str(values, key);
  if (text === undefined) return undefined;
  const ms = durationFlag(key, text);
  if (ms < 1000) throw new UsageError(`--${key} must be at least 1s (given ${text})`);
  return ms;
}
