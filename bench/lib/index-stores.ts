/**
 * The on-disk chunk index candidates: (c) an LMDB file (the `lmdb` package, prebuilt binary) and
 * (d) a PostgreSQL table on the test server, looked up a batch at a time with `= ANY($1)`.
 * Both are rebuildable from the store, so neither is synced as it loads.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open, type Database, type RootDatabaseOptionsWithPath } from "lmdb";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "@pullback/testkit";
import type { IndexCandidate } from "./index-candidate.js";
import { ID_BYTES, idAt, type Probe } from "./index-ids.js";
import { sortIds } from "./index-memory.js";

const PRESENT = Buffer.from([1]);
const APPEND = { append: true };
const LOAD_BATCH = 100_000;

export class LmdbIndex implements IndexCandidate {
  private readonly dir = mkdtempSync(join(tmpdir(), "pullback-index-lmdb-"));
  private db = this.open();

  // noReadAhead: a lookup touches one leaf page; with the kernel's read-ahead every fault maps its
  // neighbours too, and the first 10 M-id run had the whole 1.2 GB file resident after 200 k lookups.
  // (lmdb reads the option but its typings lack it.)
  private open(): Database<Buffer, Buffer> {
    const o = { path: this.dir, keyEncoding: "binary", encoding: "binary", noSync: true, noMetaSync: true, compression: false, cache: false, noReadAhead: true } as const;
    return open<Buffer, Buffer>(o as RootDatabaseOptionsWithPath);
  }

  async reopen(): Promise<void> {
    await this.db.close();
    this.db = this.open();
  }

  // Sorted, then appended (MDB_APPEND): pages fill completely and no page is split. Inserting the
  // same 10 M ids in random order took 234 s (against 17 s for this) and left a 1.2 GB file.
  async build(ids: Buffer, n: number): Promise<void> {
    const sorted = sortIds(ids, n);
    for (let from = 0; from < n; from += LOAD_BATCH) {
      this.db.transactionSync(() => {
        for (let i = from; i < Math.min(n, from + LOAD_BATCH); i++) this.db.putSync(idAt(sorted, i), PRESENT, APPEND);
      });
    }
  }

  async lookup(batch: Probe): Promise<number> {
    let found = 0;
    for (let j = 0; j < batch.raw.length; j += ID_BYTES) if (this.db.doesExist(batch.raw.subarray(j, j + ID_BYTES))) found++;
    return found;
  }

  async diskBytes(): Promise<number> {
    return readdirSync(this.dir).reduce((sum, f) => sum + statSync(join(this.dir, f)).blocks * 512, 0);
  }

  async close(): Promise<void> {
    await this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * How the table keys an id. bytea: the whole id is the primary key. prefix: the id's first 8 bytes
 * as a bigint, indexed (not unique: two ids may share them), with the whole id beside it and checked
 * too — a smaller B-tree for the price of a wider heap row.
 */
export type PgLayout = "bytea" | "prefix";

const CUT_IDS = "SELECT substring($1::bytea FROM i * 32 + 1 FOR 32) AS id FROM generate_series(0, $2::int - 1) i";

const PG_SQL: Record<PgLayout, { create: string; load: string; key: string; lookup: string }> = {
  bytea: {
    create: "CREATE TABLE chunk_index (id bytea NOT NULL)",
    load: `INSERT INTO chunk_index ${CUT_IDS}`,
    key: "ALTER TABLE chunk_index ADD PRIMARY KEY (id)",
    lookup: "SELECT id FROM chunk_index WHERE id = ANY($1::bytea[])",
  },
  prefix: {
    create: "CREATE TABLE chunk_index (k bigint NOT NULL, id bytea NOT NULL)",
    load: `INSERT INTO chunk_index SELECT ('x' || encode(substring(id FROM 1 FOR 8), 'hex'))::bit(64)::bigint, id FROM (${CUT_IDS}) q`,
    key: "CREATE INDEX chunk_index_k ON chunk_index (k)",
    lookup: "SELECT id FROM chunk_index WHERE k = ANY($2::bigint[]) AND id = ANY($1::bytea[])",
  },
};

export class PostgresIndex implements IndexCandidate {
  private database: TestDatabase | undefined;
  private client: pg.Client | undefined;
  private readonly sql: (typeof PG_SQL)[PgLayout];

  constructor(private readonly layout: PgLayout) {
    this.sql = PG_SQL[layout];
  }

  private async connect(): Promise<pg.Client> {
    this.database = await createTestDatabase({ prefix: "pullback_indexbench" });
    this.client = new pg.Client({ connectionString: this.database.url });
    await this.client.connect();
    return this.client;
  }

  // A rebuild loads the rows first and builds the key once (a sorted build), which is much faster
  // than keeping a B-tree up to date through 10 M random inserts. The ids travel as one binary
  // parameter per batch and are cut apart on the server: no 66-character hex literal per id.
  async build(ids: Buffer, n: number): Promise<void> {
    const c = await this.connect();
    await c.query(this.sql.create);
    for (let from = 0; from < n; from += LOAD_BATCH) {
      const k = Math.min(LOAD_BATCH, n - from);
      await c.query(this.sql.load, [ids.subarray(from * ID_BYTES, (from + k) * ID_BYTES), k]);
    }
    await c.query(this.sql.key);
    await c.query("VACUUM ANALYZE chunk_index");
  }

  async lookup(batch: Probe): Promise<number> {
    const keys: Buffer[] = [];
    for (let j = 0; j < batch.raw.length; j += ID_BYTES) keys.push(batch.raw.subarray(j, j + ID_BYTES));
    if (!keys.length) return 0;
    const params: unknown[] = [keys];
    if (this.layout === "prefix") params.push(keys.map((key) => key.readBigInt64BE(0).toString()));
    const r = await this.client!.query(this.sql.lookup, params);
    return r.rowCount ?? 0;
  }

  async diskBytes(): Promise<number> {
    const r = await this.client!.query<{ bytes: string }>("SELECT pg_total_relation_size('chunk_index') AS bytes");
    return Number(r.rows[0]!.bytes);
  }

  async close(): Promise<void> {
    await this.client?.end();
    await this.database?.drop();
  }
}
