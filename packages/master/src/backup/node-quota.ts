/**
 * A node's storage quota, enforced while a backup receives: the node's usage (chunks it added, see
 * catalog/chunk-owners.ts), plus what its other running backups have stored so far, plus what this
 * session has stored may not exceed the quota. Checked whenever the session stores something, so a
 * backup stops within one chunk of the limit instead of after receiving everything.
 *
 * The check itself is synchronous and uses the last figures read from the catalog; every 100 ms of
 * storing, the session publishes its own bytes (jobs.bytes_stored) and re-reads the others' and the
 * quota. So concurrent backups of one node overshoot by at most what they store in that interval,
 * and a quota changed mid-backup applies from then on.
 */
import type { Catalog, NodeRow } from "../catalog/index.js";
import { QuotaExceededError } from "../errors.js";

const REFRESH_MS = 100;

export class NodeQuota {
  private quota: number | null;
  /** The node's charged usage plus its other running backups' stored bytes, as last read. */
  private usedElsewhere: number;
  private sessionBytes = 0;
  private lastRefresh = Date.now();
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly catalog: Catalog,
    private readonly node: NodeRow,
    private readonly jobId: number,
  ) {
    this.quota = node.quotaBytes;
    this.usedElsewhere = node.usedBytes;
  }

  /** SnapshotWriter's `admitNewBytes`: throws QuotaExceededError once the quota is exceeded. */
  readonly admit = (sessionBytes: number): void => {
    this.sessionBytes = sessionBytes;
    if (this.quota !== null && this.usedElsewhere + sessionBytes > this.quota) {
      throw new QuotaExceededError(this.node.name, this.quota, this.usedElsewhere, sessionBytes);
    }
    if (!this.refreshing && Date.now() - this.lastRefresh >= REFRESH_MS) {
      this.lastRefresh = Date.now();
      // A failed refresh keeps the last figures: the check goes on with what it knew.
      this.refreshing = this.refresh()
        .catch(() => undefined)
        .finally(() => (this.refreshing = null));
    }
  };

  /** Waits for a refresh in flight, so it cannot overwrite the job's final figures. */
  async settle(): Promise<void> {
    await this.refreshing;
  }

  private async refresh(): Promise<void> {
    await this.catalog.jobs.updateProgress(this.jobId, { bytesStored: this.sessionBytes });
    const s = await this.catalog.nodes.storage(this.node.id, this.jobId);
    this.quota = s.quotaBytes;
    this.usedElsewhere = s.usedBytes + s.inFlightBytes;
  }
}
