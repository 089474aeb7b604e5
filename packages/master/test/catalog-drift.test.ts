/**
 * Fails when prisma/schema.prisma and the SQL migrations disagree: the migrations are applied to a
 * fresh database and every table, column, nullability, type and enum label is compared with the
 * Prisma schema. The schema is read with a small parser (Prisma's own DMMF API needs its native
 * engine or internal packages); the parser is checked against the field lists in the generated
 * client, so it cannot silently misread a model.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Prisma } from "../src/catalog/generated/client.js";
import { migrate } from "../src/catalog/migrate.js";
import { createTestDatabase, type TestDatabase } from "@pullback/testkit";

interface Field {
  name: string;
  column: string;
  type: string;
  optional: boolean;
  list: boolean;
  dbType: string | undefined;
}
interface Model {
  name: string;
  table: string;
  fields: Field[];
}
interface SchemaInfo {
  models: Model[];
  enums: Map<string, { dbName: string; values: string[] }>;
}

function parseSchema(text: string): SchemaInfo {
  const src = text.replace(/\/\/.*$/gm, "");
  const blocks = [...src.matchAll(/^(model|enum)\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const enums = new Map<string, { dbName: string; values: string[] }>();
  for (const [, kind, name, body] of blocks) {
    if (kind !== "enum" || !name || body === undefined) continue;
    const lines = body.split("\n").map((l) => l.trim()).filter(Boolean);
    const map = lines.find((l) => l.startsWith("@@map("));
    enums.set(name, {
      dbName: map ? (/"([^"]+)"/.exec(map)?.[1] ?? name) : name,
      values: lines.filter((l) => !l.startsWith("@@")).map((l) => l.split(/\s+/)[0] ?? ""),
    });
  }
  const modelNames = new Set(blocks.filter((b) => b[1] === "model").map((b) => b[2]));
  const models: Model[] = [];
  for (const [, kind, name, body] of blocks) {
    if (kind !== "model" || !name || body === undefined) continue;
    let table = name;
    const fields: Field[] = [];
    for (const raw of body.split("\n")) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith("@@map(")) table = /"([^"]+)"/.exec(line)?.[1] ?? name;
      if (line.startsWith("@@")) continue;
      const m = /^(\w+)\s+(\w+)(\[\])?(\?)?(.*)$/.exec(line);
      if (!m) throw new Error(`drift test cannot parse schema line: ${line}`);
      const [, fname = "", type = "", list, opt, rest = ""] = m;
      if (modelNames.has(type)) continue; // relation field, no column
      fields.push({
        name: fname,
        column: /@map\("([^"]+)"\)/.exec(rest)?.[1] ?? fname,
        type,
        optional: opt === "?",
        list: list === "[]",
        dbType: /@db\.(\w+)/.exec(rest)?.[1],
      });
    }
    models.push({ name, table, fields });
  }
  return { models, enums };
}

/** The repository's prisma/schema.prisma, found from this file (src or dist) upwards. */
function findSchema(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, "prisma", "schema.prisma");
    if (existsSync(p)) return p;
  }
  throw new Error("drift test: prisma/schema.prisma not found above the test file");
}

const SCALAR_UDT: Record<string, string> = {
  Int: "int4",
  BigInt: "int8",
  String: "text",
  Boolean: "bool",
  Float: "float8",
  Bytes: "bytea",
  Json: "jsonb",
  DateTime: "timestamp",
  Decimal: "numeric",
};
const DB_UDT: Record<string, string> = { Timestamptz: "timestamptz", Timestamp: "timestamp", Text: "text", Uuid: "uuid" };

function expectedUdt(f: Field, info: SchemaInfo): string {
  const base = info.enums.get(f.type)?.dbName ?? (f.dbType ? DB_UDT[f.dbType] : undefined) ?? SCALAR_UDT[f.type];
  if (!base) throw new Error(`drift test: no PostgreSQL type known for ${f.type} @db.${f.dbType ?? ""}: extend the mapping`);
  return f.list ? `_${base}` : base;
}

// At module level, not in before(): an unreachable server then fails this file outright.
const db: TestDatabase = await createTestDatabase();

describe("catalog schema drift", () => {
  let client: pg.Client;
  const schemaPath = findSchema();
  const info = parseSchema(readFileSync(schemaPath, "utf8"));

  before(async () => {
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await migrate(client);
  });
  after(async () => {
    await client?.end();
    await db.drop();
  });

  it("reads the schema the way the generated client does", () => {
    const generated: Record<string, Record<string, string>> = {
      Node: Prisma.NodeScalarFieldEnum,
      Source: Prisma.SourceScalarFieldEnum,
      Job: Prisma.JobScalarFieldEnum,
      JobLog: Prisma.JobLogScalarFieldEnum,
      Snapshot: Prisma.SnapshotScalarFieldEnum,
      FileVersion: Prisma.FileVersionScalarFieldEnum,
      ChunkRef: Prisma.ChunkRefScalarFieldEnum,
      GcCandidate: Prisma.GcCandidateScalarFieldEnum,
      ChunkOwner: Prisma.ChunkOwnerScalarFieldEnum,
      Policy: Prisma.PolicyScalarFieldEnum,
    };
    assert.deepEqual(info.models.map((m) => m.name).sort(), Object.values(Prisma.ModelName).sort());
    for (const m of info.models) {
      const scalars = generated[m.name];
      assert.ok(scalars, `model ${m.name} has no field list in the drift test: add it above`);
      assert.deepEqual(
        m.fields.map((f) => f.name).sort(),
        Object.keys(scalars).sort(),
        `fields of ${m.name}`,
      );
    }
  });

  it("has exactly the tables of the Prisma schema (plus the migration log)", async () => {
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    const actual = rows.map((r) => r.table_name).filter((t) => t !== "catalog_migrations").sort();
    assert.deepEqual(actual, info.models.map((m) => m.table).sort());
  });

  it("has the same columns, types and nullability", async () => {
    const { rows } = await client.query<{ table_name: string; column_name: string; is_nullable: string; udt_name: string }>(
      "SELECT table_name, column_name, is_nullable, udt_name FROM information_schema.columns WHERE table_schema = 'public'",
    );
    const problems: string[] = [];
    for (const m of info.models) {
      const cols = new Map(rows.filter((r) => r.table_name === m.table).map((r) => [r.column_name, r]));
      for (const f of m.fields) {
        const col = cols.get(f.column);
        if (!col) {
          problems.push(`${m.table}.${f.column}: in schema.prisma, missing from the migrations`);
          continue;
        }
        cols.delete(f.column);
        const want = expectedUdt(f, info);
        if (col.udt_name !== want) problems.push(`${m.table}.${f.column}: SQL type ${col.udt_name}, schema.prisma says ${want}`);
        // Prisma lists are never null; a required field must be NOT NULL.
        const nullable = f.optional;
        if ((col.is_nullable === "YES") !== nullable) {
          problems.push(`${m.table}.${f.column}: ${col.is_nullable === "YES" ? "nullable" : "NOT NULL"} in SQL, ${nullable ? "optional" : "required"} in schema.prisma`);
        }
      }
      for (const extra of cols.keys()) problems.push(`${m.table}.${extra}: in the migrations, missing from schema.prisma`);
    }
    assert.deepEqual(problems, []);
  });

  it("has the same enum types and labels in the same order", async () => {
    const { rows } = await client.query<{ typname: string; labels: string[] }>(
      `SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE n.nspname = 'public' GROUP BY t.typname`,
    );
    const actual = Object.fromEntries(rows.map((r) => [r.typname, r.labels]));
    const expected = Object.fromEntries([...info.enums.values()].map((e) => [e.dbName, e.values]));
    assert.deepEqual(actual, expected);
  });

  it("notices a column the migrations lack (the check itself works)", () => {
    const broken = parseSchema(readFileSync(schemaPath, "utf8").replace("model Node {", "model Node {\n  extra String"));
    const node = broken.models.find((m) => m.name === "Node");
    assert.ok(node?.fields.some((f) => f.column === "extra" && !f.optional && expectedUdt(f, broken) === "text"));
  });
});
