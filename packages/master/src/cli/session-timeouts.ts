/**
 * --idle-timeout and --deadline for commands that hold an agent's stream (backup, restore): a job
 * started by hand gets the master config's deadline unless the operator gives another.
 */
import type { SessionTimeouts } from "../links/connect-node.js";
import type { MasterContext } from "../master-context.js";
import { parseDuration } from "./commands/gc.js";
import { str, type OptionSpec, type OptionValues } from "./command.js";

export const SESSION_TIMEOUT_OPTIONS: OptionSpec = {
  "idle-timeout": { type: "string" },
  deadline: { type: "string" },
};

export const SESSION_TIMEOUT_USAGE = "[--idle-timeout 10m] [--deadline 24h]";

export function manualSessionTimeouts(ctx: MasterContext, values: OptionValues): SessionTimeouts {
  const idle = str(values, "idle-timeout");
  const deadline = str(values, "deadline");
  return {
    idleMs: idle ? parseDuration(idle) : ctx.home.config.timeouts.idleSeconds * 1000,
    deadlineMs: deadline ? parseDuration(deadline) : ctx.home.config.timeouts.manualDeadlineSeconds * 1000,
  };
}
