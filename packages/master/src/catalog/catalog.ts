/**
 * The facade: one Catalog per database, one module per concern on it (catalog.jobs.create(),
 * catalog.snapshots.get(), ...). See index.ts for what lives where and the Prisma/SQL rule.
 */
import type pg from "pg";
import type { PrismaClient } from "./generated/client.js";
import { FileIndex } from "./file-index.js";
import { GcQueue } from "./gc-queue.js";
import { JobQueue } from "./job-queue.js";
import { JobCatalog } from "./jobs.js";
import { NodeCatalog } from "./nodes.js";
import { PolicyCatalog } from "./policies.js";
import { SnapshotCatalog } from "./snapshots.js";
import { SourceCatalog } from "./sources.js";

export class Catalog {
  readonly nodes: NodeCatalog;
  readonly sources: SourceCatalog;
  readonly jobs: JobCatalog;
  /** The scheduler's queue of due backups, shared by every master on this catalog. */
  readonly queue: JobQueue;
  readonly snapshots: SnapshotCatalog;
  readonly policies: PolicyCatalog;
  readonly gc: GcQueue;
  readonly files: FileIndex;

  /** Built by openCatalog (open.ts), which owns the pool and the client and closes them. */
  constructor(prisma: PrismaClient, pool: pg.Pool) {
    this.nodes = new NodeCatalog(prisma, pool);
    this.sources = new SourceCatalog(prisma, this.nodes);
    this.jobs = new JobCatalog(prisma);
    this.queue = new JobQueue(pool);
    this.snapshots = new SnapshotCatalog(prisma, pool);
    this.policies = new PolicyCatalog(pool);
    this.gc = new GcQueue(pool);
    this.files = new FileIndex(prisma, pool, this.snapshots);
  }
}
