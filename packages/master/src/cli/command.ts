import type { ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.js";
import type { ExitCode } from "./exit-codes.js";
import type { Output } from "./output.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandInput {
  positionals: string[];
  values: OptionValues;
  homeDir: string;
  out: Output;
}

export interface Command {
  /** Words that select the command, e.g. ["node", "add"]. */
  name: string[];
  usage: string;
  summary: string;
  options?: OptionSpec;
  /** Number of positionals accepted: [min, max]. */
  args: [number, number];
  run(input: CommandInput): Promise<ExitCode>;
}

export function str(v: OptionValues, key: string): string | undefined {
  const x = v[key];
  return typeof x === "string" ? x : undefined;
}

export function list(v: OptionValues, key: string): string[] {
  const x = v[key];
  return Array.isArray(x) ? x : typeof x === "string" ? [x] : [];
}

/** A whole number above zero, or `dflt` when the option is absent. */
export function positiveInt(v: OptionValues, key: string, dflt: number): number {
  const s = str(v, key);
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${key} takes a positive whole number`);
  return n;
}
