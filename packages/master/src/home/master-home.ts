/**
 * The master's home directory: config, store, PKI and (by default) the embedded catalog database.
 * Created by `pullback init`; every other command opens it.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { ConfigError, loadConfigFile } from "@pullback/common";
import { DEFAULT_CONFIG_TEXT, masterConfigSchema, type MasterConfig } from "./master-config.js";

export interface MasterHome {
  dir: string;
  configPath: string;
  config: MasterConfig;
  storeDir: string;
  pkiDir: string;
}

export function defaultHomeDir(): string {
  if (process.env.PULLBACK_HOME) return resolve(process.env.PULLBACK_HOME);
  return process.getuid?.() === 0 ? "/var/lib/pullback" : join(homedir(), ".local/share/pullback");
}

const CONFIG_FILE = "master.yaml";

export function openHome(dir: string): MasterHome {
  const configPath = join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new ConfigError(`no Pullback master at ${dir} (missing ${CONFIG_FILE}): run \`pullback init --home ${dir}\` first, or pass --home / PULLBACK_HOME`);
  }
  const config = loadConfigFile(configPath, masterConfigSchema);
  return {
    dir,
    configPath,
    config,
    storeDir: isAbsolute(config.store) ? config.store : join(dir, config.store),
    pkiDir: join(dir, "pki"),
  };
}

/** Creates the home and its config if missing; an existing home is left as it is. */
export async function createHome(dir: string): Promise<{ home: MasterHome; created: boolean }> {
  // 0711: the embedded catalog runs as the postgres user when we are root and must traverse the home;
  // nobody else can list it, and the store, keys and config inside stay private (0700/0600).
  await mkdir(dir, { recursive: true, mode: 0o711 });
  await chmod(dir, 0o711);
  const configPath = join(dir, CONFIG_FILE);
  let created = false;
  try {
    await writeFile(configPath, DEFAULT_CONFIG_TEXT, { flag: "wx", mode: 0o600 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return { home: openHome(dir), created };
}

export function databaseUrlFor(home: MasterHome): string | undefined {
  return process.env.DATABASE_URL || home.config.databaseUrl;
}
