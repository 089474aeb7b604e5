/**
 * Reading the file index: what one snapshot holds, and every version of one path. Writing it is
 * record.ts (when a snapshot is recorded) and snapshot-delete.ts.
 */
import type pg from "pg";
import type { Entry } from "@pullback/common";
import type { Prisma, PrismaClient } from "./generated/client.js";
import { normalisePath } from "./entry-row.js";
import { CatalogError } from "../errors.js";
import { num, toFileVersionRow } from "./map.js";
import type { SnapshotCatalog } from "./snapshots.js";
import type { FileVersionRow } from "./types.js";

export class FileIndex {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
    private readonly snapshots: SnapshotCatalog,
  ) {}

  /**
   * The entries of one snapshot, ordered by path; with dirPrefix only that path and what lies under
   * it ("etc/ssh" gives etc/ssh and etc/ssh/...). Paths are relative to the source root.
   */
  async inSnapshot(id: string, dirPrefix?: string): Promise<FileVersionRow[]> {
    const snap = await this.snapshots.get(id);
    if (!snap) throw new CatalogError(`no snapshot ${id} in the catalog`);
    const source = await this.prisma.source.findFirstOrThrow({ where: { name: snap.source, node: { name: snap.node } } });
    const prefix = dirPrefix === undefined ? "" : normalisePath(dirPrefix);
    const rows = await this.prisma.fileVersion.findMany({
      where: {
        sourceId: source.id,
        fromSeq: { lte: snap.seq },
        AND: [
          { OR: [{ toSeq: null }, { toSeq: { gt: snap.seq } }] },
          ...(prefix ? [{ OR: [{ path: prefix }, { path: { startsWith: prefix + "/" } }] }] : []),
        ],
      },
      orderBy: { path: "asc" },
    });
    return rows.map((r) => toFileVersionRow(r, snap.node, snap.source));
  }

  /**
   * Every version of a path on a node, oldest first per source, each with the snapshots holding it.
   * A relative path is matched as is; an absolute one is made relative to each source's root
   * (config.path), so "/etc/passwd" finds "passwd" in a source rooted at /etc.
   * SQL, not Prisma: each row carries the array of snapshots that hold it (see index.ts).
   */
  async versions(query: { node: string; path: string; source?: string }): Promise<FileVersionRow[]> {
    const sources = await this.prisma.source.findMany({
      where: { node: { name: query.node }, ...(query.source ? { name: query.source } : {}) },
    });
    const sourceIds: number[] = [];
    const paths: string[] = [];
    for (const s of sources) {
      const rel = relativeToRoot(query.path, s.config);
      if (rel !== null) {
        sourceIds.push(s.id);
        paths.push(rel);
      }
    }
    if (sourceIds.length === 0) return [];
    const { rows } = await this.pool.query<FileVersionSqlRow>(
      `SELECT so.name AS source, fv.path, fv.type::text AS type, fv.size, fv.mtime_ns, fv.mode, fv.uid, fv.gid,
              fv.target, encode(fv.fingerprint, 'hex') AS fingerprint, fv.from_seq, fv.to_seq,
              ARRAY(SELECT s.id FROM snapshots s
                    WHERE s.source_id = fv.source_id AND s.seq >= fv.from_seq AND (fv.to_seq IS NULL OR s.seq < fv.to_seq)
                    ORDER BY s.seq) AS snapshots
       FROM unnest($1::integer[], $2::text[]) AS q(source_id, path)
       JOIN file_versions fv ON fv.source_id = q.source_id AND fv.path = q.path COLLATE "C"
       JOIN sources so ON so.id = fv.source_id
       ORDER BY so.name, fv.from_seq`,
      [sourceIds, paths],
    );
    return rows.map((r) => ({
      node: query.node,
      source: r.source,
      path: r.path,
      type: r.type,
      size: num(BigInt(r.size)),
      mtimeNs: r.mtime_ns,
      mode: r.mode,
      uid: num(BigInt(r.uid)),
      gid: num(BigInt(r.gid)),
      target: r.target,
      fingerprint: r.fingerprint,
      fromSeq: r.from_seq,
      toSeq: r.to_seq,
      snapshots: r.snapshots,
    }));
  }

  /** Row count of the file index, for tests and status pages. */
  async count(source?: { node: string; source: string }): Promise<number> {
    return this.prisma.fileVersion.count(
      source ? { where: { source: { name: source.source, node: { name: source.node } } } } : undefined,
    );
  }
}

interface FileVersionSqlRow {
  source: string;
  path: string;
  type: Entry["type"];
  size: string;
  mtime_ns: string;
  mode: number;
  uid: string;
  gid: string;
  target: string | null;
  fingerprint: string | null;
  from_seq: number;
  to_seq: number | null;
  snapshots: string[];
}

/** Absolute paths are taken relative to the source's configured root; null when outside it. */
function relativeToRoot(path: string, config: Prisma.JsonValue): string | null {
  if (!path.startsWith("/")) return normalisePath(path);
  const root = typeof config === "object" && config !== null && !Array.isArray(config) ? config.path : undefined;
  if (typeof root !== "string" || root === "" || root === "/") return normalisePath(path);
  const r = root.replace(/\/+$/, "");
  if (path === r) return "";
  return path.startsWith(r + "/") ? normalisePath(path.slice(r.length)) : null;
}
