/** Exit codes scripts and monitoring can rely on (also listed in `pullback --help`). */
export const EXIT = {
  OK: 0,
  /** The job or command failed; nothing was changed that it did not finish. */
  FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** Finished, with warnings (files skipped in a backup, files not restored). */
  WARNINGS: 3,
  /** The home, config, certificates or catalog are missing or unusable. */
  CONFIG: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
