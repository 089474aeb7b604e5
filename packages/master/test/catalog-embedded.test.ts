import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openCatalog, type OpenedCatalog } from "../src/catalog/index.js";
import { EmbeddedPostgresError } from "../src/errors.js";

describe("embedded catalog database", () => {
  const home = mkdtempSync(join(tmpdir(), "pullback-embedded-"));
  const isRoot = process.getuid?.() === 0;
  let open: OpenedCatalog | undefined;

  after(async () => {
    await open?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("explains, as root, that the postgres user cannot reach a private home", { skip: !isRoot && "only meaningful as root" }, async () => {
    chmodSync(home, 0o700);
    await assert.rejects(openCatalog({ home }), (err: unknown) => {
      assert.ok(err instanceof EmbeddedPostgresError);
      assert.match(err.message, /runs as user "postgres".*cannot reach/s);
      return true;
    });
  });

  it("initialises on first use, keeps data across a restart, and refuses a second instance", async () => {
    // The postgres system user (used when we are root) must be able to traverse the home.
    chmodSync(home, 0o755);
    let t = performance.now();
    open = await openCatalog({ home });
    const initMs = performance.now() - t;
    assert.equal(open.embedded, true);
    assert.match(open.databaseUrl, /^postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/pullback$/);
    assert.ok(existsSync(join(home, "catalog", "pgdata", "PG_VERSION")));
    await open.catalog.nodes.ensure("web1", "10.1.2.3:7443");
    await open.catalog.sources.ensure("web1", "etc", "fs", { path: "/etc" });

    await assert.rejects(openCatalog({ home }), /in use by a running PostgreSQL \(pid \d+\)/);

    await open.close();
    open = undefined;
    assert.ok(!existsSync(join(home, "catalog", "pgdata", "postmaster.pid")), "the server stopped cleanly");

    t = performance.now();
    open = await openCatalog({ home });
    const warmMs = performance.now() - t;
    const node = await open.catalog.nodes.get("web1");
    assert.equal(node?.address, "10.1.2.3:7443");
    assert.deepEqual((await open.catalog.sources.list("web1")).map((s) => s.config), [{ path: "/etc" }]);
    console.log(`embedded PostgreSQL: first start with initdb ${initMs.toFixed(0)} ms, warm start ${warmMs.toFixed(0)} ms`);
  });

  it("listens on loopback only and requires the generated password", async () => {
    assert.ok(open);
    const port = new URL(open.databaseUrl).port;
    const c = new pg.Client({ connectionString: `postgresql://postgres:wrong@127.0.0.1:${port}/pullback` });
    await assert.rejects(c.connect(), /password authentication failed/);
    await c.end().catch(() => undefined);
    // The real password exists only in <home>/catalog (0600).
    const pw = readFileSync(join(home, "catalog", "superuser-password"), "utf8").trim();
    const ok = new pg.Client({ connectionString: `postgresql://postgres:${encodeURIComponent(pw)}@127.0.0.1:${port}/pullback` });
    await ok.connect();
    try {
      const { rows } = await ok.query<{ listen_addresses: string }>("SHOW listen_addresses");
      assert.equal(rows[0]?.listen_addresses, "127.0.0.1");
    } finally {
      await ok.end();
    }
  });
});
