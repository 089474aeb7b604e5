#!/usr/bin/env node
// Generates Prisma Client (packages/master/src/catalog/generated/) without network access.
//
// `prisma generate` only needs the query compiler, which ships as WebAssembly inside the npm
// packages, but the CLI still resolves its native schema engine first and downloads it when absent,
// which fails on an isolated network. When PRISMA_SCHEMA_ENGINE_BINARY names an existing file the
// CLI takes that path as the engine and downloads nothing; `generate` never runs it. We point it at
// this script unless the caller has set a real engine. Migrations never use that engine (see
// packages/master/src/catalog/migrate.ts).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const cli = require.resolve("prisma/build/index.js");
const schema = join(here, "schema.prisma");
const output = join(here, "..", "packages", "master", "src", "catalog", "generated");
const stampFile = join(output, ".schema-stamp");

// Regenerating rewrites every file and makes `tsc -b` recompile the master; skip when neither the
// schema nor the Prisma version changed.
const stamp = createHash("sha256")
  .update(readFileSync(schema))
  .update(require("prisma/package.json").version)
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest("hex");
if (existsSync(join(output, "client.ts")) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) {
  process.exit(0);
}
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || fileURLToPath(import.meta.url),
  // No update check or telemetry call home: it would only time out on the isolated network.
  CHECKPOINT_DISABLE: "1",
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
};
const r = spawnSync(process.execPath, [cli, "generate", "--schema", schema], { stdio: "inherit", env });
if (r.status !== 0) {
  console.error("prisma generate failed: see the output above (schema error, or the prisma package is not installed: run npm ci)");
  process.exit(r.status ?? 1);
}
writeFileSync(stampFile, stamp);
