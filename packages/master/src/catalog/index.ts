/**
 * The catalog: the PostgreSQL index of nodes, sources, jobs, snapshots and file versions. The store
 * is the truth (catalog rebuild replays its snapshot records); the catalog is what makes listing,
 * searching and scheduling fast.
 *
 * openCatalog() (open.ts) starts it: embedded PostgreSQL when no URL is given (embedded.ts), the
 * schema brought up to date (migrate.ts). It returns one Catalog (catalog.ts) with a module per concern:
 *
 *   catalog.nodes      nodes.ts          nodes and their storage quota (chunk-owners.ts charges usage)
 *   catalog.sources    sources.ts        sources of a node and their config
 *   catalog.jobs       jobs.ts           job rows and their log lines
 *   catalog.queue      job-queue.ts      the scheduler's queue: claim, heartbeat, retry
 *   catalog.snapshots  snapshots.ts      record (record.ts, record-index.ts), list, get, protect, delete (snapshot-delete.ts)
 *   catalog.policies   policies.ts       policies and which source follows which
 *   catalog.gc         gc-queue.ts       GC candidates, tombstones and the GC/backup advisory lock
 *   catalog.files      file-index.ts     the file index: a snapshot's entries, a path's versions
 *
 * Prisma or SQL. Prisma Client (typed, on @prisma/adapter-pg, no native engine) is used for every
 * query that returns, changes or counts the catalog's typed rows (NodeRow, SourceRow, JobRow,
 * JobLogRow, SnapshotRow, FileVersionRow, converted in map.ts) when Prisma expresses it in one call.
 * Everything else is SQL on the same pg pool: multi-statement transactions (sql.ts withTransaction),
 * temporary tables, arrays of chunk ids (sql.ts hexIds), advisory locks, aggregates and joins that
 * return shapes of their own, and the tables with no typed row (policies, gc_candidates, chunk_refs,
 * chunk_owners). Each SQL method's module says which of these it needs.
 */
export { openCatalog, type OpenCatalogOptions, type OpenedCatalog } from "./open.js";
export { Catalog } from "./catalog.js";
export type { NodeCatalog, NodeStorage } from "./nodes.js";
export type { SourceCatalog } from "./sources.js";
export type { JobCatalog, NewJob, JobFilter } from "./jobs.js";
export type { SnapshotCatalog } from "./snapshots.js";
export type { PolicyCatalog, PolicyListing, ScheduledSource } from "./policies.js";
export type { GcQueue } from "./gc-queue.js";
export type { FileIndex } from "./file-index.js";
export { migrate, migrateUrl, loadMigrations } from "./migrate.js";
export type * from "./types.js";
export { JobQueue, type ClaimedJob, type ClaimLimits, type DueSlotJob } from "./job-queue.js";
