/**
 * Backup policies: when a source is backed up (calendar rules, each with a level), how long a job may
 * wait and run, how it is retried, and which snapshots retention keeps. The schema is the single
 * definition for the CLI, the catalog and policy files; a file's errors name its line and field.
 */
import { Cron } from "croner";
import { z } from "zod";
import { ConfigError, parseConfigText, type BackupLevel } from "@pullback/common";
import { keepWithinProblem } from "./duration.js";

export const LEVELS = ["full", "differential", "incremental"] as const satisfies readonly BackupLevel[];

export function isValidTimeZone(tz: string): boolean {
  try {
    // Intl is the same tz database croner converts with, so what passes here schedules there.
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why a cron pattern is refused, or null. Croner parses; we only narrow what we accept. */
export function cronProblem(pattern: string): string | null {
  const p = pattern.trim();
  // Slots are identified per minute (rules that coincide merge), so a seconds or year field would
  // either fire many jobs a minute or mean something croner and the operator read differently.
  if (!p.startsWith("@") && p.split(/\s+/).length !== 5) {
    return `"${pattern}" must have exactly 5 fields (minute hour day-of-month month day-of-week), e.g. "0 1 * * 0,4"`;
  }
  try {
    new Cron(p, { paused: true }).stop();
    return null;
  } catch (err) {
    return `"${pattern}" is not a cron pattern: ${(err as Error).message.replace(/^CronPattern:\s*/, "")}`;
  }
}

const count = (what: string) =>
  z
    .number({ error: `${what} must be a whole number of snapshots (0 = rule off)` })
    .int(`${what} must be a whole number of snapshots (0 = rule off)`)
    .min(0, `${what} cannot be negative (0 = rule off)`)
    .default(0);

export const retentionSchema = z
  .object({
    keepLast: count("keepLast"),
    keepHourly: count("keepHourly"),
    keepDaily: count("keepDaily"),
    keepWeekly: count("keepWeekly"),
    keepMonthly: count("keepMonthly"),
    keepYearly: count("keepYearly"),
    /** restic-style calendar duration ("7d", "1y6mo", "2d12h"): keep everything this close to the newest. */
    keepWithin: z
      .string()
      .superRefine((s, ctx) => {
        const problem = keepWithinProblem(s);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
  })
  .strict();
export type RetentionRules = z.infer<typeof retentionSchema>;

const minutes = (what: string) => z.number().int(`${what} must be whole minutes`).positive(`${what} must be at least 1 minute`);

export const windowSchema = z
  .object({
    /** Minutes after the slot before a job may start (e.g. to let an application's own dump finish). */
    startOffsetMinutes: z.number().int("startOffsetMinutes must be whole minutes").min(0, "startOffsetMinutes cannot be negative").default(0),
    /** How long after it opens a job may still start; later, the slot is skipped and reported. */
    durationMinutes: minutes("durationMinutes"),
  })
  .strict();
export type BackupWindow = z.infer<typeof windowSchema>;

export const retriesSchema = z
  .object({
    max: z.number().int("retries.max must be a whole number").min(0, "retries.max cannot be negative").max(20, "retries.max above 20 only hides a broken source: fix it").default(2),
    /** First delay; each further retry waits twice as long as the previous one. */
    backoffSeconds: z.number().int("backoffSeconds must be whole seconds").positive("backoffSeconds must be at least 1").default(300),
  })
  .strict();
export type RetryRules = z.infer<typeof retriesSchema>;

export const ruleSchema = z
  .object({
    cron: z.string().superRefine((s, ctx) => {
      const problem = cronProblem(s);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
    level: z.enum(LEVELS, { error: `level must be one of ${LEVELS.join(", ")}` }),
  })
  .strict();
export type CalendarRule = z.infer<typeof ruleSchema>;

export const POLICY_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const policySchema = z
  .object({
    name: z.string().regex(POLICY_NAME, "name must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"),
    timezone: z.string().default("UTC").refine(isValidTimeZone, "timezone must be an IANA time zone name such as UTC or Europe/Berlin"),
    rules: z.array(ruleSchema).min(1, "a policy needs at least one calendar rule (cron + level)"),
    retention: retentionSchema.default(() => retentionSchema.parse({})),
    /** Absent: a slot may start until the policy's next slot, so missed slots never pile up. */
    window: windowSchema.optional(),
    timeoutMinutes: minutes("timeoutMinutes").default(24 * 60),
    retries: retriesSchema.default(() => retriesSchema.parse({})),
    /** Higher runs first when jobs wait for a free slot. */
    priority: z.number().int("priority must be a whole number").min(-1000).max(1000).default(0),
  })
  .strict();
export type Policy = z.infer<typeof policySchema>;
/** What an operator writes: every field with a default may be left out. */
export type PolicyInput = z.input<typeof policySchema>;

/** NODE/SOURCE, with the same names `pullback node add` and `pullback source add` accept. */
export const SOURCE_REF = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

const filePolicySchema = policySchema.extend({
  sources: z.array(z.string().regex(SOURCE_REF, "each source must be written NODE/SOURCE, e.g. web1/etc")).default([]),
});

export const policyFileSchema = z
  .object({ policies: z.array(filePolicySchema).min(1, "declare at least one policy under policies:") })
  .strict()
  .superRefine((file, ctx) => {
    const names = new Map<string, number>();
    const owners = new Map<string, string>();
    file.policies.forEach((p, i) => {
      const first = names.get(p.name);
      if (first !== undefined) {
        ctx.addIssue({ code: "custom", path: ["policies", i, "name"], message: `policy "${p.name}" is already declared at policies[${first}]: rename one` });
      } else names.set(p.name, i);
      p.sources.forEach((s, j) => {
        const owner = owners.get(s);
        if (owner !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["policies", i, "sources", j],
            message: `source ${s} is already attached to policy "${owner}": a source follows exactly one policy`,
          });
        } else owners.set(s, p.name);
      });
    });
  });

export interface PolicyFile {
  policies: Policy[];
  /** "NODE/SOURCE" → policy name. */
  assignments: Map<string, string>;
}

/** Parses a YAML or JSON policy file; throws ConfigError naming file, line and field. */
export function parsePolicyFile(text: string, file: string): PolicyFile {
  const parsed = parseConfigText(text, file, policyFileSchema);
  const assignments = new Map<string, string>();
  const policies = parsed.policies.map(({ sources, ...policy }) => {
    for (const s of sources) assignments.set(s, policy.name);
    return policy;
  });
  return { policies, assignments };
}

/** Validates a policy built in code (CLI flags, catalog rows): same rules and messages as a file. */
export function parsePolicy(input: unknown, what = "policy"): Policy {
  const r = policySchema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`);
  throw new ConfigError(`invalid ${what}:\n  ${problems.join("\n  ")}`);
}
