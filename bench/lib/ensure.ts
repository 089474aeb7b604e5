/** Makes sure the external programs exist, installing Debian packages when they are missing. */
import { spawnSync } from "node:child_process";

function found(binary: string): boolean {
  return spawnSync("which", [binary], { stdio: "ignore" }).status === 0;
}

let updated = false;

/** Returns null when `binary` is usable, or why it is not. */
export function ensureBinary(binary: string, debPackage: string, log: (m: string) => void): string | null {
  if (found(binary)) return null;
  log(`${binary} not found: installing Debian package ${debPackage}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!updated) {
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    updated = true;
  }
  const r = spawnSync("apt-get", ["install", "-y", "-qq", debPackage], { stdio: "inherit", env });
  if (r.status === 0 && found(binary)) return null;
  return `${binary} missing and "apt-get install ${debPackage}" failed`;
}
