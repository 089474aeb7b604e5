/**
 * Test-only pause points. End-to-end tests swap a directory for a symlink while a backup or a restore
 * waits here, to prove the swap cannot redirect it. Unset in production, where it costs one property
 * read per directory or file opened.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export type RacePoint = "dir" | "file";

export const raceHook: { beforeOpen?: (point: RacePoint, relPath: string) => Promise<void> } = {};

/**
 * PULLBACK_TEST_PAUSE_AT=REL and PULLBACK_TEST_PAUSE_DIR=DIR: before the agent opens REL (a path
 * relative to the source root or restore target), it creates DIR/paused and waits until DIR/resume
 * exists. Only a test sets these; an agent started without them never waits.
 */
export function installRaceHookFromEnv(env: NodeJS.ProcessEnv): void {
  const at = env.PULLBACK_TEST_PAUSE_AT;
  const dir = env.PULLBACK_TEST_PAUSE_DIR;
  if (!at || !dir) return;
  raceHook.beforeOpen = async (_point, rel) => {
    if (rel !== at) return;
    writeFileSync(join(dir, "paused"), "");
    while (!existsSync(join(dir, "resume"))) await sleep(20);
  };
}
