/** Nodes (the machines backed up) and their storage quota. */
import type pg from "pg";
import type { PrismaClient } from "./generated/client.js";
import { chargeChunks } from "./chunk-owners.js";
import { CatalogError } from "../errors.js";
import { notFound } from "./not-found.js";
import { num, toNodeRow } from "./map.js";
import type { NodeRow } from "./types.js";

export interface NodeStorage {
  quotaBytes: number | null;
  usedBytes: number;
  inFlightBytes: number;
}

export class NodeCatalog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
  ) {}

  async ensure(name: string, address?: string): Promise<NodeRow> {
    const node = await this.prisma.node.upsert({
      where: { name },
      create: { name, address: address ?? null },
      update: address === undefined ? {} : { address, updatedAt: new Date() },
    });
    return toNodeRow(node);
  }

  async get(name: string): Promise<NodeRow | null> {
    const node = await this.prisma.node.findUnique({ where: { name } });
    return node ? toNodeRow(node) : null;
  }

  async list(): Promise<NodeRow[]> {
    return (await this.prisma.node.findMany({ orderBy: { name: "asc" } })).map(toNodeRow);
  }

  /** Sets the node's storage quota in bytes (null: no limit). */
  async setQuota(name: string, quotaBytes: number | null): Promise<NodeRow> {
    try {
      const node = await this.prisma.node.update({
        where: { name },
        data: { quotaBytes: quotaBytes === null ? null : BigInt(quotaBytes), updatedAt: new Date() },
      });
      return toNodeRow(node);
    } catch (err) {
      throw notFound(err, `node ${name}`) ?? err;
    }
  }

  /**
   * The node's quota, its charged usage, and what its other running backups (active in the last 10
   * minutes, so a job left "running" by a killed master does not count forever) have stored so far.
   */
  async storage(nodeId: number, exceptJob: number): Promise<NodeStorage> {
    const r = await this.pool.query<{ quota_bytes: string | null; used_bytes: string; in_flight: string }>(
      `SELECT n.quota_bytes, n.used_bytes,
              (SELECT coalesce(sum(j.bytes_stored), 0) FROM jobs j
               WHERE j.node_id = n.id AND j.kind = 'backup' AND j.status = 'running' AND j.id <> $2
                 AND j.updated_at > now() - interval '10 minutes') AS in_flight
       FROM nodes n WHERE n.id = $1`,
      [nodeId, exceptJob],
    );
    const row = r.rows[0];
    if (!row) throw new CatalogError(`node ${nodeId} vanished from the catalog`);
    return {
      quotaBytes: row.quota_bytes === null ? null : num(BigInt(row.quota_bytes)),
      usedBytes: num(BigInt(row.used_bytes)),
      inFlightBytes: num(BigInt(row.in_flight)),
    };
  }

  /** Charges chunks a session of the node wrote (id → stored bytes) to its usage. */
  async chargeChunks(nodeId: number, chunks: ReadonlyMap<string, number>): Promise<void> {
    await chargeChunks(this.pool, nodeId, chunks);
  }
}
