/**
 * The scheduler's queue, in the catalog so that it survives restarts and is shared by every master
 * on the catalog. Claims are serialised by one transaction-scoped advisory lock: claiming takes
 * milliseconds, and it makes the per-node limit exact even with several masters (two masters must
 * never both see "no backup running on web1" and start two).
 */
import type pg from "pg";
import type { BackupLevel } from "@pullback/common";
import { withTransaction } from "./sql.js";

const CLAIM_LOCK = 0x50424351; // "PBCQ"

export interface DueSlotJob {
  node: string;
  source: string;
  slot: Date;
  /** Not before (a window's start offset). */
  runAfter: Date;
  level: BackupLevel;
  priority: number;
  windowEnd: Date | null;
  timeoutSeconds: number | null;
  maxAttempts: number;
}

export interface ClaimedJob {
  id: number;
  node: string;
  source: string;
  requestedLevel: BackupLevel;
  attempt: number;
  maxAttempts: number;
  timeoutSeconds: number | null;
  scheduledFor: Date | null;
  priority: number;
  windowEnd: Date | null;
}

export interface ClaimLimits {
  /** Jobs running at once across all masters on this catalog. */
  global: number;
  /** Jobs running at once on one node (default 1: a node is never hit by two backups). */
  perNode: number;
}

interface ClaimRow {
  id: number;
  node: string;
  source: string;
  requested_level: BackupLevel;
  attempt: number;
  max_attempts: number;
  timeout_seconds: number | null;
  scheduled_for: Date | null;
  priority: number;
  window_end: Date | null;
}

export class JobQueue {
  constructor(private readonly pool: pg.Pool) {}

  /** Queues the first attempt of a calendar slot; null when some master already queued it. */
  async enqueueSlot(j: DueSlotJob): Promise<number | null> {
    const r = await this.pool.query<{ id: number }>(
      `INSERT INTO jobs (kind, node_id, source_id, requested_level, status, scheduled_for, run_after, window_end, priority, timeout_seconds, max_attempts)
       SELECT 'backup', s.node_id, s.id, $3, 'queued', $4, $9, $5, $6, $7, $8
       FROM sources s JOIN nodes n ON n.id = s.node_id WHERE n.name = $1 AND s.name = $2
       ON CONFLICT (source_id, scheduled_for) WHERE scheduled_for IS NOT NULL AND attempt = 1 DO NOTHING
       RETURNING id`,
      [j.node, j.source, j.level, j.slot, j.windowEnd, j.priority, j.timeoutSeconds, j.maxAttempts, j.runAfter],
    );
    return r.rows[0]?.id ?? null;
  }

  /** Records a slot that will never run, so it shows in `pullback jobs`; null if already recorded. */
  async recordSkipped(node: string, source: string, slot: Date, level: BackupLevel, reason: string): Promise<number | null> {
    const r = await this.pool.query<{ id: number }>(
      `INSERT INTO jobs (kind, node_id, source_id, requested_level, status, scheduled_for, finished_at, error)
       SELECT 'backup', s.node_id, s.id, $3, 'skipped', $4, now(), $5
       FROM sources s JOIN nodes n ON n.id = s.node_id WHERE n.name = $1 AND s.name = $2
       ON CONFLICT (source_id, scheduled_for) WHERE scheduled_for IS NOT NULL AND attempt = 1 DO NOTHING
       RETURNING id`,
      [node, source, level, slot, reason],
    );
    return r.rows[0]?.id ?? null;
  }

  /** The latest slot ever queued for a source (any attempt), or null. */
  async lastSlot(node: string, source: string): Promise<Date | null> {
    const r = await this.pool.query<{ last: Date | null }>(
      `SELECT max(j.scheduled_for) AS last FROM jobs j JOIN sources s ON s.id = j.source_id JOIN nodes n ON n.id = s.node_id
       WHERE n.name = $1 AND s.name = $2`,
      [node, source],
    );
    return r.rows[0]?.last ?? null;
  }

  /** Claims the most urgent runnable job within the limits, or returns null. */
  async claim(masterId: string, limits: ClaimLimits): Promise<ClaimedJob | null> {
    return withTransaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [CLAIM_LOCK]);
      const running = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE status = 'running'");
      if ((running.rows[0]?.n ?? 0) >= limits.global) return null;
      const r = await client.query<ClaimRow>(
        `SELECT j.id, n.name AS node, s.name AS source, j.requested_level, j.attempt, j.max_attempts, j.timeout_seconds,
                j.scheduled_for, j.priority, j.window_end
         FROM jobs j JOIN sources s ON s.id = j.source_id JOIN nodes n ON n.id = j.node_id
         WHERE j.status = 'queued' AND j.kind = 'backup' AND j.run_after <= now()
           AND (j.window_end IS NULL OR j.window_end > now())
           AND (SELECT count(*) FROM jobs r WHERE r.node_id = j.node_id AND r.status = 'running') < $1
         ORDER BY j.priority DESC, j.run_after, j.id
         LIMIT 1
         FOR UPDATE OF j SKIP LOCKED`,
        [limits.perNode],
      );
      const row = r.rows[0];
      if (!row) return null;
      await client.query(
        "UPDATE jobs SET status = 'running', claimed_by = $2, started_at = now(), heartbeat_at = now(), updated_at = now() WHERE id = $1",
        [row.id, masterId],
      );
      return {
        id: row.id,
        node: row.node,
        source: row.source,
        requestedLevel: row.requested_level,
        attempt: row.attempt,
        maxAttempts: row.max_attempts,
        timeoutSeconds: row.timeout_seconds,
        scheduledFor: row.scheduled_for,
        priority: row.priority,
        windowEnd: row.window_end,
      };
    });
  }

  async heartbeat(masterId: string, jobIds: number[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.pool.query("UPDATE jobs SET heartbeat_at = now() WHERE claimed_by = $1 AND id = ANY($2::int[]) AND status = 'running'", [masterId, jobIds]);
  }

  /**
   * Jobs left running by a master that stopped beating (killed, machine lost): failed with that
   * reason. Their partial chunks stay in the store and the next run reuses them.
   */
  async failAbandoned(staleSeconds: number): Promise<number[]> {
    const r = await this.pool.query<{ id: number }>(
      `UPDATE jobs SET status = 'failed', finished_at = now(), updated_at = now(),
         error = 'the master running this job (' || coalesce(claimed_by, '?') || ') stopped before it finished; its stored chunks will be reused'
       WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $1))
       RETURNING id`,
      [staleSeconds],
    );
    return r.rows.map((x) => x.id);
  }

  /** Queued jobs whose window ended: skipped, and reported as such. */
  async skipExpired(): Promise<number[]> {
    const r = await this.pool.query<{ id: number }>(
      `UPDATE jobs SET status = 'skipped', finished_at = now(), updated_at = now(),
         error = 'not started before the end of its backup window (' || to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC)'
       WHERE status = 'queued' AND window_end IS NOT NULL AND window_end <= now()
       RETURNING id`,
    );
    return r.rows.map((x) => x.id);
  }

  /** Queues the next attempt of a failed job after `delaySeconds`; null when attempts are used up. */
  async retry(jobId: number, delaySeconds: number): Promise<number | null> {
    const r = await this.pool.query<{ id: number }>(
      `INSERT INTO jobs (kind, node_id, source_id, requested_level, status, scheduled_for, run_after, window_end, priority, timeout_seconds, max_attempts, attempt)
       SELECT kind, node_id, source_id, requested_level, 'queued', scheduled_for, now() + make_interval(secs => $2), window_end, priority, timeout_seconds, max_attempts, attempt + 1
       FROM jobs WHERE id = $1 AND attempt < max_attempts
       RETURNING id`,
      [jobId, delaySeconds],
    );
    return r.rows[0]?.id ?? null;
  }

  async counts(): Promise<{ queued: number; running: number }> {
    const r = await this.pool.query<{ queued: number; running: number }>(
      "SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE status = 'running')::int AS running FROM jobs",
    );
    return r.rows[0] ?? { queued: 0, running: 0 };
  }
}
