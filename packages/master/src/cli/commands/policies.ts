import { readFileSync } from "node:fs";
import { ConfigError, type BackupLevel } from "@pullback/common";
import type { JsonObject } from "../../catalog/index.js";
import { nextSlot, parsePolicy, parsePolicyFile, type Policy } from "../../policy/index.js";
import { EXIT } from "../exit-codes.js";
import { UsageError } from "../../errors.js";
import { list, str, type Command, type OptionValues } from "../command.js";
import { table } from "../output.js";
import { withContext } from "./with-context.js";

const POLICY_OPTIONS = {
  rule: { type: "string", multiple: true },
  timezone: { type: "string" },
  "keep-last": { type: "string" },
  "keep-hourly": { type: "string" },
  "keep-daily": { type: "string" },
  "keep-weekly": { type: "string" },
  "keep-monthly": { type: "string" },
  "keep-yearly": { type: "string" },
  window: { type: "string" },
  timeout: { type: "string" },
  retries: { type: "string" },
  backoff: { type: "string" },
  priority: { type: "string" },
} as const;

function int(v: OptionValues, key: string): number | undefined {
  const s = str(v, key);
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s)) throw new UsageError(`--${key} takes a whole number, not ${JSON.stringify(s)}`);
  return Number(s);
}

/** Builds a policy from flags: --rule "0 1 * * 0,4=full" --rule "0 1 * * 1-3,5,6=differential" ... */
function policyFromFlags(name: string, v: OptionValues): Policy {
  const rules = list(v, "rule").map((r) => {
    const i = r.lastIndexOf("=");
    if (i < 0) throw new UsageError(`--rule "${r}": write CRON=LEVEL, e.g. --rule "0 1 * * 0,4=full"`);
    return { cron: r.slice(0, i).trim(), level: r.slice(i + 1).trim() as BackupLevel };
  });
  const retention: Record<string, number> = {};
  for (const k of ["last", "hourly", "daily", "weekly", "monthly", "yearly"]) {
    const n = int(v, `keep-${k}`);
    if (n !== undefined) retention[`keep${k[0]!.toUpperCase()}${k.slice(1)}`] = n;
  }
  const raw: Record<string, unknown> = { name, rules, retention, retries: { max: int(v, "retries") ?? 2, backoffSeconds: int(v, "backoff") ?? 300 } };
  if (str(v, "timezone")) raw.timezone = str(v, "timezone");
  if (int(v, "window") !== undefined) raw.window = { durationMinutes: int(v, "window") };
  if (int(v, "timeout") !== undefined) raw.timeoutMinutes = int(v, "timeout");
  if (int(v, "priority") !== undefined) raw.priority = int(v, "priority");
  try {
    return parsePolicy(raw, `policy ${name}`);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

function setPolicy(verb: "add" | "set"): Command {
  return {
    name: ["policy", verb],
    usage: `pullback policy ${verb} NAME --rule "CRON=LEVEL"... [--timezone TZ] [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] [--keep-hourly N] [--window MIN] [--timeout MIN] [--retries N] [--backoff SEC] [--priority N]`,
    summary: verb === "add" ? "create a backup policy (calendar rules with levels, retention, window, timeout, retries, priority)" : "replace a policy's definition",
    args: [1, 1],
    options: POLICY_OPTIONS,
    async run({ positionals, values, homeDir, out }) {
      const name = positionals[0]!;
      const policy = policyFromFlags(name, values);
      await withContext(homeDir, async (ctx) => {
        const catalog = await ctx.catalog();
        const exists = (await catalog.policies.list()).some((p) => p.name === name);
        if (verb === "add" && exists) throw new UsageError(`policy ${name} exists; change it with \`pullback policy set ${name} ...\``);
        if (verb === "set" && !exists) throw new UsageError(`no policy ${name}; create it with \`pullback policy add ${name} ...\``);
        await catalog.policies.put(name, policy as unknown as JsonObject);
      });
      const next = nextSlot(policy, new Date());
      out.result({ name, policy, next }, () => `policy ${name}: ${policy.rules.map((r) => `${r.cron} → ${r.level}`).join("; ")} (${policy.timezone}); next run ${next ? `${next.time.toISOString()} (${next.level})` : "never"}`);
      return EXIT.OK;
    },
  };
}

export const policyAddCommand = setPolicy("add");
export const policySetCommand = setPolicy("set");

export const policyListCommand: Command = {
  name: ["policy", "list"],
  usage: "pullback policy list",
  summary: "list policies, their next run and the sources that use them",
  args: [0, 0],
  async run({ homeDir, out }) {
    const rows = await withContext(homeDir, async (ctx) => (await ctx.catalog()).policies.list());
    const now = new Date();
    const data = rows.map((r) => {
      const p = parsePolicy(r.definition, `policy ${r.name}`);
      return { ...r, next: nextSlot(p, now) };
    });
    out.result(data, () =>
      table(["POLICY", "NEXT RUN", "LEVEL", "SOURCES"], data.map((d) => [d.name, d.next?.time.toISOString() ?? "-", d.next?.level ?? "-", d.sources.join(",") || "-"])),
    );
    return EXIT.OK;
  },
};

export const policyShowCommand: Command = {
  name: ["policy", "show"],
  usage: "pullback policy show NAME",
  summary: "show a policy's definition and its next runs",
  args: [1, 1],
  async run({ positionals, homeDir, out }) {
    const row = (await withContext(homeDir, async (ctx) => (await ctx.catalog()).policies.list())).find((p) => p.name === positionals[0]);
    if (!row) throw new UsageError(`no policy ${positionals[0]}; see \`pullback policy list\``);
    const p = parsePolicy(row.definition, `policy ${row.name}`);
    const runs: { time: Date; level: string }[] = [];
    let at = new Date();
    for (let i = 0; i < 7; i++) {
      const n = nextSlot(p, at);
      if (!n) break;
      runs.push(n);
      at = n.time;
    }
    out.result({ ...row, nextRuns: runs }, () =>
      [JSON.stringify(row.definition, null, 2), `sources: ${row.sources.join(", ") || "-"}`, "next runs:", ...runs.map((r) => `  ${r.time.toISOString()} ${r.level}`)].join("\n"),
    );
    return EXIT.OK;
  },
};

export const policyApplyCommand: Command = {
  name: ["policy", "apply"],
  usage: "pullback policy apply FILE",
  summary: "create or replace the policies of a YAML/JSON file and attach its sources (errors name line and field)",
  args: [1, 1],
  async run({ positionals, homeDir, out }) {
    const path = positionals[0]!;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read policy file ${path}: ${(err as Error).message}`);
    }
    const file = parsePolicyFile(text, path);
    await withContext(homeDir, async (ctx) => {
      const catalog = await ctx.catalog();
      for (const p of file.policies) await catalog.policies.put(p.name, p as unknown as JsonObject);
      for (const [ref, policy] of file.assignments) {
        const [node, source] = ref.split("/") as [string, string];
        await catalog.policies.setForSource(node, source, policy);
      }
    });
    const sources = [...file.assignments].map(([ref, policy]) => ({ source: ref, policy }));
    out.result({ policies: file.policies.map((p) => p.name), sources }, () => `applied ${file.policies.length} policies, attached ${sources.length} sources`);
    return EXIT.OK;
  },
};

