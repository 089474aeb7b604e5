/**
 * The database side of the dump benchmark: connection settings, one schema written once for both
 * MariaDB and PostgreSQL (a small dialect object papers over the function names), deterministic
 * fills and the "day of change" statements.
 *
 * Shape (per database, sizes of the plain dump at the default 100 MB):
 *   customers  ~13 MB  ~330 B/row  non-ASCII names and cities, variable-length notes, 48-byte binary avatar
 *   products   ~14 MB  ~950 B/row  long descriptions, 256-byte binary image
 *   orders     ~55 MB  ~250 B/row  JSON-ish items text, 16-byte binary token, three secondary indexes
 *   events     ~20 MB  ~130 B/row  status log with non-ASCII messages
 * Ids are 1..N and creation times grow with the id, so "recent" means "high id".
 */
import { spawn } from "node:child_process";

/** Where the servers are; the defaults are the local test servers (no password). */
export const MY = {
  host: process.env.PULLBACK_BENCH_MY_HOST ?? "127.0.0.1",
  port: Number(process.env.PULLBACK_BENCH_MY_PORT ?? 3306),
  user: process.env.PULLBACK_BENCH_MY_USER ?? "root",
};
export const PG = {
  host: process.env.PULLBACK_BENCH_PGHOST ?? "127.0.0.1",
  port: Number(process.env.PULLBACK_BENCH_PGPORT ?? 5432),
  user: process.env.PULLBACK_BENCH_PGUSER ?? "postgres",
};

export type Engine = "mariadb" | "postgres";

export const myArgs = (): string[] => [`-h${MY.host}`, `-P${MY.port}`, `-u${MY.user}`];
export const pgArgs = (): string[] => ["-h", PG.host, "-p", String(PG.port), "-U", PG.user, "-w"];

/** Runs a client with SQL on stdin; resolves to its stdout, rejects with its stderr. */
export function runSql(engine: Engine, sql: string, db?: string): Promise<string> {
  const [cmd, args] =
    engine === "mariadb"
      ? ["mariadb", [...myArgs(), "--batch", "--skip-column-names", "--default-character-set=utf8mb4", ...(db ? [db] : [])]]
      : ["psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", ...pgArgs(), "-d", db ?? "postgres"]];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${cmd} exited ${code}: ${err.trim().slice(-2000)}`))));
    p.stdin.end(sql);
  });
}

/** The few expressions whose spelling differs between the two servers. */
interface Dialect {
  /** 1-based pick from a list of SQL literals. */
  pick(index: string, literals: string[]): string;
  /** Hex text of SHA-2 (bits 256/384/512) of a text expression. */
  shaHex(expr: string, bits: number): string;
  unhex(hex: string): string;
  /** A timestamp `secs` seconds after 2020-01-01. */
  ts(secs: string): string;
  /** Integer division. */
  div(a: string, b: string): string;
  /** A pseudo-random bucket 0..99 of an expression, stable across runs. */
  bucket100(expr: string): string;
  /** FROM clause yielding `seq` = lo..hi. */
  series(lo: number, hi: number): string;
  binary(n: number): string;
  dt: string;
  bigint: string;
}

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

const MYSQL: Dialect = {
  pick: (i, l) => `ELT(${i}, ${l.join(", ")})`,
  shaHex: (e, bits) => `SHA2(${e}, ${bits})`,
  unhex: (h) => `UNHEX(${h})`,
  ts: (s) => `DATE_ADD('2020-01-01 00:00:00', INTERVAL (${s}) SECOND)`,
  div: (a, b) => `(${a}) DIV (${b})`,
  bucket100: (e) => `(CRC32(${e}) % 100)`,
  series: (lo, hi) => `seq_${lo}_to_${hi}`,
  binary: (n) => (n <= 64 ? `VARBINARY(${n})` : "BLOB"),
  dt: "DATETIME",
  bigint: "BIGINT",
};

const POSTGRES: Dialect = {
  pick: (i, l) => `(ARRAY[${l.join(", ")}])[${i}]`,
  shaHex: (e, bits) => `encode(sha${bits}(convert_to(${e}, 'UTF8')), 'hex')`,
  unhex: (h) => `decode(${h}, 'hex')`,
  ts: (s) => `(TIMESTAMP '2020-01-01 00:00:00' + (${s}) * INTERVAL '1 second')`,
  div: (a, b) => `((${a}) / (${b}))`,
  bucket100: (e) => `((hashtext(${e}) & 2147483647) % 100)`,
  series: (lo, hi) => `generate_series(${lo}, ${hi}) AS g(seq)`,
  binary: () => "bytea",
  dt: "timestamp",
  bigint: "bigint",
};

export const dialect = (e: Engine): Dialect => (e === "mariadb" ? MYSQL : POSTGRES);

const FIRST = ["José", "Zoë", "Łukasz", "Ørjan", "Mårten", "Renée", "Dvořák", "李娜"].map(lit);
const LAST = ["Müller", "García", "Søndergaard", "Nakamura 中村", "O'Brien", "Ålander", "Kovačević", "Иванов"].map(lit);
const CITY = ["München", "Zürich", "São Paulo", "Kraków", "Reykjavík", "東京", "Malmö", "Göteborg", "Besançon", "Αθήνα"].map(lit);
const STREET = ["Hauptstraße", "Rue de l'Église", "Calle Mayor", "ulica Długa", "Storgatan", "Via Roma"].map(lit);
const STATUS = ["pending", "paid", "shipped", "delivered", "returned"].map(lit);
const KIND = ["created", "payment", "shipment", "delivery", "return", "note"].map(lit);
const TIER = ["free", "silver", "gold", "platinum"].map(lit);

export const TABLES = ["customers", "products", "orders", "events"] as const;
export type Table = (typeof TABLES)[number];

/** Rows per table for a dump of about `mb` MB. */
export function plannedRows(mb: number): Record<Table, number> {
  const f = mb / 100;
  return {
    customers: Math.max(1000, Math.round(40_000 * f)),
    products: Math.max(300, Math.round(15_000 * f)),
    orders: Math.max(5000, Math.round(220_000 * f)),
    events: Math.max(3000, Math.round(150_000 * f)),
  };
}

export function schemaSql(e: Engine): string {
  const d = dialect(e);
  const text = "TEXT";
  return `
CREATE TABLE customers (
  id INT PRIMARY KEY, email VARCHAR(190) NOT NULL, name VARCHAR(120) NOT NULL, city VARCHAR(80),
  tier VARCHAR(16) NOT NULL, created_at ${d.dt} NOT NULL, updated_at ${d.dt} NOT NULL, note ${text}, avatar ${d.binary(48)});
CREATE UNIQUE INDEX customers_email ON customers (email);
CREATE INDEX customers_city ON customers (city);
CREATE TABLE products (
  id INT PRIMARY KEY, sku VARCHAR(32) NOT NULL, title VARCHAR(200) NOT NULL, description ${text},
  price DECIMAL(10,2) NOT NULL, stock INT NOT NULL, updated_at ${d.dt} NOT NULL, image ${d.binary(256)});
CREATE UNIQUE INDEX products_sku ON products (sku);
CREATE TABLE orders (
  id ${d.bigint} PRIMARY KEY, customer_id INT NOT NULL, created_at ${d.dt} NOT NULL, updated_at ${d.dt} NOT NULL,
  status VARCHAR(16) NOT NULL, amount DECIMAL(12,2) NOT NULL, currency CHAR(3) NOT NULL,
  shipping_address VARCHAR(255), items ${text}, token ${d.binary(16)});
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_status ON orders (status);
CREATE TABLE events (
  id ${d.bigint} PRIMARY KEY, order_id ${d.bigint} NOT NULL, at ${d.dt} NOT NULL, kind VARCHAR(24) NOT NULL, message VARCHAR(255));
CREATE INDEX events_order ON events (order_id);
CREATE INDEX events_at ON events (at);
`;
}

/** INSERT … SELECT of rows lo..hi of a table; `n` holds the planned row counts (for foreign ids). */
export function insertSql(e: Engine, t: Table, lo: number, hi: number, n: Record<Table, number>): string {
  const d = dialect(e);
  const s = "seq";
  const cc = (...parts: string[]): string => `CONCAT(${parts.join(", ")})`;
  const sha = (salt: string, bits: number): string => d.shaHex(cc(lit(salt), s), bits);
  let cols: string;
  let sel: string;
  switch (t) {
    case "customers":
      cols = "id, email, name, city, tier, created_at, updated_at, note, avatar";
      sel = [
        s,
        cc(lit("user"), s, lit("@example.org")),
        cc(d.pick(`1 + ${s} % 8`, FIRST), lit(" "), d.pick(`1 + ${d.div(s, "8")} % 8`, LAST)),
        d.pick(`1 + ${s} % 10`, CITY),
        d.pick(`1 + ${s} % 4`, TIER),
        d.ts(`${s} * 1200`),
        d.ts(`${s} * 1200 + 3600`),
        `LEFT(REPEAT(${cc(d.shaHex(cc(lit("n"), s), 256), lit(" Grüße, straße — ünd "))}, 3), ${s} % 100000 * 7919 % 220)`,
        d.unhex(sha("a", 384)),
      ].join(", ");
      break;
    case "products":
      cols = "id, sku, title, description, price, stock, updated_at, image";
      sel = [
        s,
        cc(lit("SKU-"), s),
        cc(lit("Qualitätsprodukt "), s, lit(" — "), d.pick(`1 + ${s} % 10`, CITY)),
        `REPEAT(${cc(lit("Naïve café crème brûlée, "), d.shaHex(cc(lit("d"), s), 256), lit(". "))}, 1 + ${s} % 8)`,
        `(${s} * 37 % 100000) / 100.0`,
        `${s} * 13 % 500`,
        d.ts(`${s} * 3600`),
        d.unhex(cc(sha("i", 512), sha("j", 512), sha("k", 512), sha("l", 512))),
      ].join(", ");
      break;
    case "orders":
      cols = "id, customer_id, created_at, updated_at, status, amount, currency, shipping_address, items, token";
      sel = [
        s,
        `1 + ${s} * 7 % ${n.customers}`,
        d.ts(`${s} * 300`),
        d.ts(`${s} * 300 + 60`),
        d.pick(`1 + ${s} % 5`, STATUS),
        `(${s} % 200000 * 7919 % 5000000) / 100.0`,
        d.pick(`1 + ${s} % 3`, ["'EUR'", "'CHF'", "'SEK'"]),
        cc(`${s} % 999 + 1`, lit(" "), d.pick(`1 + ${s} % 6`, STREET), lit(", "), d.pick(`1 + ${s} % 10`, CITY)),
        cc(lit('[{"sku":"SKU-'), `1 + ${s} % ${n.products}`, lit('","qty":'), `1 + ${s} % 5`, lit('},{"sku":"SKU-'), `1 + ${s} * 31 % ${n.products}`, lit('","qty":1,"note":"geschenkverpackt ✓"}]')),
        d.unhex(`LEFT(${sha("t", 256)}, 32)`),
      ].join(", ");
      break;
    case "events":
      cols = "id, order_id, at, kind, message";
      sel = [
        s,
        `1 + ${d.div(`${s} * ${Math.round((100 * n.orders) / n.events)}`, "100")}`,
        d.ts(`${s} * 440`),
        d.pick(`1 + ${s} % 6`, KIND),
        cc(lit("Statusänderung → "), d.pick(`1 + ${s} % 5`, STATUS), lit(" für Bestellung Nr. "), s, lit(" (Lager "), d.pick(`1 + ${s} % 10`, CITY), lit(")")),
      ].join(", ");
      break;
  }
  return `INSERT INTO ${t} (${cols}) SELECT ${sel} FROM ${d.series(lo, hi)};\n`;
}

export type ChangePattern = "recent" | "scattered";

/**
 * One day of change: in every table 1% of the rows updated and 1% new rows appended.
 * "recent": the updated rows are every other row of the newest 2% (the usual application pattern:
 * fresh orders change status, new customers edit their profile); "scattered": a pseudo-random 1%
 * spread over the whole table.
 */
export function daySql(e: Engine, pattern: ChangePattern, day: number, rows: Record<Table, number>, n: Record<Table, number>): string {
  const d = dialect(e);
  const now = d.ts(`${Math.round(5 * 365.25 * 86400) + day * 86400}`);
  const sets: Record<Table, string> = {
    customers: `tier = ${d.pick(`1 + (id + ${day}) % 4`, TIER)}, updated_at = ${now}`,
    products: `stock = stock + 1 + (id + ${day}) % 7, price = price + 0.05, updated_at = ${now}`,
    orders: `status = ${d.pick(`1 + (id + ${day}) % 5`, STATUS)}, updated_at = ${now}`,
    events: `kind = ${d.pick(`1 + (id + ${day}) % 6`, KIND)}`,
  };
  let sql = "";
  for (const t of TABLES) {
    const count = rows[t];
    const k = Math.max(1, Math.round(count / 100));
    const where =
      pattern === "recent"
        ? `id > ${count - 2 * k} AND (id + ${day}) % 2 = 0`
        : `${d.bucket100(`CONCAT(id, '/', ${day})`)} = 0`;
    sql += `UPDATE ${t} SET ${sets[t]} WHERE ${where};\n`;
    sql += insertSql(e, t, count + 1, count + k, n);
    rows[t] = count + k;
  }
  return sql;
}
