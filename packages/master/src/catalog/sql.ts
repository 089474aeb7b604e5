/**
 * The two SQL building blocks every raw-SQL module of the catalog shares: one transaction wrapper
 * and one way to pass a list of hex chunk ids as a single array parameter.
 */
import pg from "pg";

/**
 * Runs `fn` inside BEGIN … COMMIT on one connection, and ROLLBACK if it throws. Given a pool it
 * takes a connection for the transaction and releases it after; given a client (one that holds a
 * session lock, or a caller's connection) it uses that client. `commitIf` lets a caller roll back
 * a transaction that found nothing to do, so it leaves no trace (no row versions, no sequence use).
 */
export async function withTransaction<T>(
  db: pg.Pool | pg.ClientBase,
  fn: (client: pg.ClientBase) => Promise<T>,
  commitIf: (result: T) => boolean = () => true,
): Promise<T> {
  if (db instanceof pg.Pool) {
    const client = await db.connect();
    try {
      return await withTransaction(client, fn, commitIf);
    } finally {
      client.release();
    }
  }
  await db.query("BEGIN");
  try {
    const result = await fn(db);
    await db.query(commitIf(result) ? "COMMIT" : "ROLLBACK");
    return result;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/**
 * SQL for the chunk ids passed as the text array parameter `$n` (hex, as the store names them),
 * decoded to the BYTEA the tables keep: `chunk_id = ANY(${hexIds(1)})`. One array parameter instead
 * of one per id keeps a 20,000-id statement a single round trip with a constant plan.
 */
export function hexIds(n: number): string {
  return `(SELECT decode(x, 'hex') FROM unnest($${n}::text[]) AS x)`;
}
