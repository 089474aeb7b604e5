/**
 * Snapshots in the catalog: recording a sealed one (record.ts folds its entries into the file
 * index), listing, lookup by id prefix, protection, and deletion (snapshot-delete.ts).
 */
import type pg from "pg";
import type { Entry, SnapshotRecord } from "@pullback/common";
import type { Prisma, PrismaClient } from "./generated/client.js";
import { CatalogError } from "../errors.js";
import { notFound } from "./not-found.js";
import { nodeAndSource, toSnapshotRow } from "./map.js";
import { recordSnapshotTx } from "./record.js";
import { deleteSnapshotTx } from "./snapshot-delete.js";
import type { RecordResult, SnapshotRow } from "./types.js";

export class SnapshotCatalog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
  ) {}

  /**
   * Records a sealed snapshot and its entries in one transaction. Recording an id that is already
   * there writes nothing (so `catalog rebuild` can replay the whole store); entries are then not read.
   */
  async record(record: SnapshotRecord, entries: AsyncIterable<Entry> | Iterable<Entry>): Promise<RecordResult> {
    const outcome = await recordSnapshotTx(this.pool, record, entries);
    const snapshot = await this.get(record.id);
    if (!snapshot) throw new CatalogError(`snapshot ${record.id} vanished right after it was recorded (deleted concurrently?)`);
    return {
      snapshot,
      created: outcome.created,
      entries: outcome.entries,
      rowsInserted: outcome.rowsInserted,
      rowsClosed: outcome.rowsClosed,
    };
  }

  /** Newest first (by start time, then sequence). */
  async list(filter: { node?: string; source?: string; limit?: number } = {}): Promise<SnapshotRow[]> {
    const where: Prisma.SnapshotWhereInput = {};
    if (filter.node) where.node = { name: filter.node };
    if (filter.source) where.source = { name: filter.source };
    const rows = await this.prisma.snapshot.findMany({
      where,
      include: nodeAndSource,
      orderBy: [{ startedAt: "desc" }, { seq: "desc" }],
      ...(filter.limit ? { take: filter.limit } : {}),
    });
    return rows.map(toSnapshotRow);
  }

  /**
   * By full id, or by a prefix that matches exactly one snapshot (as people type ids from a list).
   * Null when nothing matches; an error naming the candidates when the prefix is ambiguous.
   */
  async get(idOrPrefix: string): Promise<SnapshotRow | null> {
    const exact = await this.prisma.snapshot.findUnique({ where: { id: idOrPrefix }, include: nodeAndSource });
    if (exact) return toSnapshotRow(exact);
    if (idOrPrefix.length === 0 || /[%_\\]/.test(idOrPrefix)) return null;
    const matches = await this.prisma.snapshot.findMany({
      where: { id: { startsWith: idOrPrefix } },
      include: nodeAndSource,
      orderBy: { id: "asc" },
      take: 6,
    });
    if (matches.length > 1) {
      throw new CatalogError(
        `snapshot id prefix "${idOrPrefix}" is ambiguous: it matches ${matches
          .slice(0, 5)
          .map((m) => m.id)
          .join(", ")}${matches.length > 5 ? ", ..." : ""}; type more of the id`,
      );
    }
    const only = matches[0];
    return only ? toSnapshotRow(only) : null;
  }

  /** Ids of every snapshot in the catalog (to compare with the store's records). */
  async ids(): Promise<Set<string>> {
    const rows = await this.prisma.snapshot.findMany({ select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  async setProtected(id: string, protect: boolean): Promise<void> {
    try {
      await this.prisma.snapshot.update({ where: { id }, data: { protected: protect } });
    } catch (err) {
      throw notFound(err, `snapshot ${id}`) ?? err;
    }
  }

  /**
   * Deletes the snapshot's row, what of the file index and chunk references only it needed, and
   * queues chunks left unreferenced for GC, in one transaction. Null when it is not in the catalog.
   */
  async delete(id: string): Promise<{ gcCandidates: number } | null> {
    return deleteSnapshotTx(this.pool, id);
  }
}
