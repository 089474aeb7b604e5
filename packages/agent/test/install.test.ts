/**
 * End to end of the way an operator installs an agent: `pullback enroll` on the master, the software
 * tarball from scripts/package-agent.mjs, deploy/install-agent.sh into a scratch root, then the
 * installed copy (not the repository's) answering the master over mTLS.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MASTER_CLI as masterCli, freePort } from "@pullback/testkit";

const repo = fileURLToPath(new URL("../../../../", import.meta.url));
const installer = join(repo, "deploy/install-agent.sh");
const NODE = "install-test";
// Each command gets the embedded catalog in its own home, never a shared DATABASE_URL server.
const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: "" };
delete env.DATABASE_URL;
delete env.PULLBACK_HOME;

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, cwd: opts.cwd ?? tmpdir(), maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r;
}

function ok(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = run(cmd, args, opts);
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8).padStart(4, "0");
}

describe("install-agent.sh with a packaged agent", () => {
  let work: string;
  let root: string;
  let bundle: string;
  let software: string;
  let agent: ChildProcess | undefined;
  const install = (r: string, b: string) => run("bash", [installer, "--root", r, "--bundle", b, "--software", software]);
  const pullback = (...args: string[]) => ok(process.execPath, [masterCli, "--home", join(work, "master"), ...args]);

  before(() => {
    // The installer, the enroll command and the packager all need tar: fail, never skip, without it.
    if (run("sh", ["-c", "command -v tar"]).status !== 0) throw new Error("tar is not installed: run `apt-get install -y tar`");
    assert.ok(existsSync(masterCli), `${masterCli} is missing: run \`npm run build\` first`);
    work = mkdtempSync(join(tmpdir(), "pullback-install-"));
    // As root the embedded PostgreSQL runs as the postgres user, which must traverse to the home.
    chmodSync(work, 0o755);
    root = join(work, "root");
  });

  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent!.once("exit", r));
      agent.kill("SIGTERM");
      const timer = setTimeout(() => agent!.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("installs software, identity and unit with private modes, and the installed agent checks OK", async () => {
    const port = await freePort();
    pullback("init");
    bundle = join(work, `${NODE}.agent-bundle.tar.gz`);
    mkdirSync(join(work, "data"));
    pullback("enroll", NODE, "--allow", join(work, "data"), "--restore-allow", join(work, "restore"), "--listen", `127.0.0.1:${port}`, "--address", `127.0.0.1:${port}`, "--out", bundle);
    software = join(work, "pullback-agent.tar.gz");
    ok(process.execPath, [join(repo, "scripts/package-agent.mjs"), "--out", software]);

    const out = ok("bash", [installer, "--root", root, "--bundle", bundle, "--software", software]);
    assert.match(out, /agent config OK: node install-test/);
    const conf = join(root, "etc/pullback-agent");
    assert.equal(mode(conf), "0700");
    assert.equal(mode(join(conf, "pki")), "0700");
    assert.equal(mode(join(conf, "agent.yaml")), "0600");
    assert.equal(mode(join(conf, "pki/agent.key")), "0600");
    assert.equal(mode(join(conf, "pki/agent.crt")), "0644");
    assert.equal(mode(join(conf, "pki/ca.crt")), "0644");
    const unit = readFileSync(join(root, "etc/systemd/system/pullback-agent.service"), "utf8");
    assert.match(unit, /^ExecStart=.* \/opt\/pullback-agent\/packages\/agent\/dist\/src\/cli\.js serve --config \/etc\/pullback-agent\/agent\.yaml$/m);
    const prefix = join(root, "opt/pullback-agent");
    assert.equal(mode(prefix), "0755");
    assert.equal(statSync(join(prefix, "packages/agent/dist/src/cli.js")).uid, process.getuid!(), "installed files belong to the installing user");
    assert.ok(!existsSync(join(prefix, "node_modules/prisma")) && !existsSync(join(prefix, "node_modules/fastify")), "master-only packages were packed");
    const check = JSON.parse(ok(process.execPath, [join(prefix, "packages/agent/dist/src/cli.js"), "check", "--json", "--config", join(conf, "agent.yaml")]));
    assert.equal(check.ok, true);
    assert.equal(check.node, NODE);
  });

  it("keeps an edited agent.yaml on reinstall and writes the new template beside it", () => {
    const yaml = join(root, "etc/pullback-agent/agent.yaml");
    appendFileSync(yaml, "# edited on the node\n");
    const edited = readFileSync(yaml, "utf8");
    const r = install(root, bundle);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /keeping the existing .*agent\.yaml/);
    assert.equal(readFileSync(yaml, "utf8"), edited);
    assert.equal(mode(`${yaml}.new`), "0600");
    assert.doesNotMatch(readFileSync(`${yaml}.new`, "utf8"), /edited on the node/);
  });

  it("refuses a bundle without the node's key, with a clear message and exit code 1", () => {
    const partial = join(work, "partial");
    mkdirSync(partial);
    ok("tar", ["-xzf", bundle, "-C", partial]);
    rmSync(join(partial, "pki/agent.key"));
    const broken = join(work, "no-key.tar.gz");
    ok("tar", ["-czf", broken, "-C", partial, "agent.yaml", "pki"]);
    const elsewhere = join(work, "root-refused");
    const r = install(elsewhere, broken);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /install-agent: .*no-key\.tar\.gz is not an enrollment bundle \(no pki\/agent\.key\)/);
    assert.ok(!existsSync(join(elsewhere, "opt/pullback-agent")), "nothing is installed from a refused bundle");
  });

  it("installs a bundle without a key onto a node that made its own key (enrolled from a certificate request)", () => {
    const partial = join(work, "csr-bundle");
    mkdirSync(partial);
    ok("tar", ["-xzf", bundle, "-C", partial]);
    // The key stands in for one `pullback-agent keygen` made on the node: it never left it.
    const nodeRoot = join(work, "root-csr");
    const keyDir = join(nodeRoot, "etc/pullback-agent/pki");
    mkdirSync(keyDir, { recursive: true });
    ok("install", ["-m", "600", join(partial, "pki/agent.key"), join(keyDir, "agent.key")]);
    const key = readFileSync(join(keyDir, "agent.key"), "utf8");
    rmSync(join(partial, "pki/agent.key"));
    const keyless = join(work, "keyless.tar.gz");
    ok("tar", ["-czf", keyless, "-C", partial, "agent.yaml", "pki"]);
    const r = install(nodeRoot, keyless);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /agent config OK: node install-test/);
    assert.equal(readFileSync(join(keyDir, "agent.key"), "utf8"), key, "the node's own key is kept");
    assert.equal(mode(join(keyDir, "agent.key")), "0600");
  });

  it("the installed copy serves the master over mTLS", async () => {
    const prefix = join(root, "opt/pullback-agent");
    // cwd and NODE_PATH away from the repository: only the installed tree can satisfy imports.
    agent = spawn(process.execPath, [join(prefix, "packages/agent/dist/src/cli.js"), "serve", "--config", join(root, "etc/pullback-agent/agent.yaml")], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the installed agent did not start listening within 15 s:\n${log}`)), 15000);
      const onData = (d: Buffer) => {
        log += d.toString();
        if (log.includes('"agent listening"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      agent!.stdout!.on("data", onData);
      agent!.stderr!.on("data", onData);
      agent!.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the installed agent exited with ${code} before listening:\n${log}`));
      });
    });
    const info = JSON.parse(pullback("node", "info", NODE, "--json"));
    assert.equal(info.nodeName, NODE);
    assert.ok(info.capabilities.includes("codec:lz4") && info.capabilities.includes("codec:zstd"), `capabilities: ${info.capabilities}`);
  });
});
