/**
 * The real `pullback` master CLI, as a command for the measured steps and as a blocking call for the
 * untimed setup. PULLBACK_LOG_LEVEL stays at warn so logging costs what it costs in production.
 */
import { spawnSync } from "node:child_process";
import { MASTER_CLI } from "@pullback/testkit";
import type { Command } from "./measure.js";

export interface MasterEnv {
  home: string;
  databaseUrl: string;
}

export function masterCommand(m: MasterEnv, args: string[]): Command {
  return {
    cmd: process.execPath,
    args: [MASTER_CLI, "--home", m.home, ...args],
    env: { DATABASE_URL: m.databaseUrl, PULLBACK_LOG_LEVEL: "warn" },
  };
}

/** Runs a setup command to completion; throws with its output when it fails. */
export function masterRun(m: MasterEnv, args: string[]): string {
  const c = masterCommand(m, args);
  const r = spawnSync(c.cmd, c.args, { encoding: "utf8", env: { ...process.env, ...c.env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`pullback ${args.join(" ")} exited with ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The parts of `pullback backup --json` the benchmark reads. */
export interface BackupOutput {
  snapshotId: string;
  bytesSent: number;
  bytesRead: number;
  /** Time inside the job (snapshot started → finished), without CLI start-up and catalog work. */
  jobSeconds: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

export function parseBackupOutput(stdout: string): BackupOutput {
  const j: unknown = JSON.parse(stdout);
  const snap = isRecord(j) ? j.snapshot : undefined;
  const stats = isRecord(snap) ? snap.stats : undefined;
  if (!isRecord(snap) || !isRecord(stats) || typeof snap.id !== "string" || typeof snap.startedAt !== "string" || typeof snap.finishedAt !== "string") {
    throw new Error(`unexpected output of pullback backup --json: ${stdout.slice(0, 300)}`);
  }
  return {
    snapshotId: snap.id,
    bytesSent: Number(stats.bytesSent ?? 0),
    bytesRead: Number(stats.bytesRead ?? 0),
    jobSeconds: (Date.parse(snap.finishedAt) - Date.parse(snap.startedAt)) / 1000,
  };
}

/** `pullback restore --json` reports its own duration (from dialing the agent to the last file). */
export function parseRestoreSeconds(stdout: string): number | undefined {
  const j: unknown = JSON.parse(stdout);
  return isRecord(j) && typeof j.seconds === "number" ? j.seconds : undefined;
}
