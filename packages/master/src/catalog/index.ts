export { openCatalog, Catalog, CatalogError } from "./catalog.js";
export type { OpenCatalogOptions, OpenedCatalog, NewJob, JobFilter } from "./catalog.js";
export { migrate, migrateUrl, loadMigrations, MigrationError } from "./migrate.js";
export { EmbeddedPostgresError } from "./embedded.js";
export { RecordError } from "./record.js";
export type * from "./types.js";
export { JobQueue, type ClaimedJob, type ClaimLimits, type DueSlotJob } from "./job-queue.js";
