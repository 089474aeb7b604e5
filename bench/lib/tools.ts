/**
 * The backup tools compared, each as the commands for its steps. A tool that needs servers (Pullback's
 * agent→master over gRPC) sets them up and tears them down through the optional hooks.
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pullbackGrpc } from "./grpc-tool.js";
import type { Command } from "./measure.js";

export type StepName = "init" | "backup" | "backup2" | "restore";

/** What a tool can report about a step beyond wall time and the measured process's peak memory. */
export interface StepExtras {
  /** Peak RSS of a helper process (Pullback's agent) during the step. */
  agentPeakRssBytes?: number;
  /** Bytes that crossed the wire (agent → master) in a backup. */
  bytesSent?: number;
  /** The tool's own account of the step's duration, without process start-up. */
  jobSeconds?: number;
}

export interface ToolContext {
  /** Directory being backed up (absolute). */
  corpus: string;
  /** Repository or store directory, fresh for each tool. */
  repo: string;
  /** Empty directory to restore into. */
  target: string;
  /** Scratch space for the tool's caches and config, so nothing lands in the home directory. */
  scratch: string;
}

export interface BackupTool {
  name: string;
  /** Programs the tool needs, with the Debian package that provides each. */
  needs: { binary: string; deb: string }[];
  init?(c: ToolContext): Command;
  backup(c: ToolContext, round: number): Command;
  restore(c: ToolContext): Command;
  /** Where the corpus's top directory ends up under `target` after a restore. */
  restoredRoot(c: ToolContext): string;
  /** Untimed, once before the steps: start servers, issue certificates, register the source. */
  setup?(c: ToolContext): Promise<void>;
  /** Untimed, right before each step (e.g. restart a server so its peak memory is the step's). */
  beforeStep?(step: StepName): Promise<void>;
  /** Untimed, right after each step, with the step's stdout. */
  afterStep?(step: StepName, stdout: string): Promise<StepExtras>;
  /** Always runs at the end, after a failure too: stop what setup started. */
  teardown?(): Promise<void>;
}

function restic(): BackupTool {
  const env = (c: ToolContext): Record<string, string> => ({
    RESTIC_PASSWORD: "bench-only-not-a-secret",
    RESTIC_CACHE_DIR: join(c.scratch, "restic-cache"),
  });
  return {
    name: "restic",
    needs: [{ binary: "restic", deb: "restic" }],
    // Repository format 2 is the one with compression (zstd, "auto" level).
    init: (c) => ({ cmd: "restic", args: ["-q", "-r", c.repo, "init", "--repository-version", "2"], env: env(c) }),
    backup: (c) => ({ cmd: "restic", args: ["-q", "-r", c.repo, "backup", c.corpus], env: env(c) }),
    restore: (c) => ({ cmd: "restic", args: ["-q", "-r", c.repo, "restore", "latest", "--target", c.target], env: env(c) }),
    // restic keeps the absolute path of what it backed up.
    restoredRoot: (c) => join(c.target, c.corpus),
  };
}

function borg(compression: string): BackupTool {
  const env = (c: ToolContext): Record<string, string> => ({
    BORG_BASE_DIR: join(c.scratch, "borg-base"),
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: "yes",
    BORG_RELOCATED_REPO_ACCESS_IS_OK: "yes",
  });
  return {
    name: `borg ${compression}`,
    needs: [{ binary: "borg", deb: "borgbackup" }],
    init: (c) => ({ cmd: "borg", args: ["init", "--encryption=none", c.repo], env: env(c) }),
    // Relative path from the corpus's parent, so the archive holds "corpus/…" like the others.
    backup: (c, round) => ({
      cmd: "borg",
      args: ["create", "--compression", compression, `${c.repo}::b${round}`, basename(c.corpus)],
      cwd: dirname(c.corpus),
      env: env(c),
    }),
    restore: (c) => ({ cmd: "borg", args: ["extract", `${c.repo}::b1`], cwd: c.target, env: env(c) }),
    restoredRoot: (c) => join(c.target, basename(c.corpus)),
  };
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "..", "pullback-child.js");

function pullbackLocal(codec: string): BackupTool {
  return {
    name: `pullback ${codec}`,
    needs: [],
    backup: (c) => ({ cmd: process.execPath, args: [CHILD, "backup", c.repo, c.corpus, codec] }),
    restore: (c) => ({ cmd: process.execPath, args: [CHILD, "restore", c.repo, c.target] }),
    restoredRoot: (c) => c.target,
  };
}

export const TOOLS: BackupTool[] = [
  restic(),
  borg("lz4"),
  borg("zstd,3"),
  pullbackLocal("lz4"),
  pullbackLocal("zstd:1"),
  pullbackLocal("zstd"),
  pullbackGrpc(null),
  pullbackGrpc("lz4"),
];
