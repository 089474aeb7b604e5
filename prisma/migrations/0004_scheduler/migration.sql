-- Policies (calendar rules, retention, window, timeout, retries, priority) as validated JSON, and
-- the job columns the scheduler needs to run unattended and to share one catalog between masters.
CREATE TABLE policies (
  id         SERIAL PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  definition JSONB NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT now()
);

ALTER TABLE sources ADD COLUMN policy_id INTEGER REFERENCES policies(id) ON DELETE SET NULL;

ALTER TABLE jobs
  -- The calendar slot a scheduled job belongs to; null for jobs started by hand.
  ADD COLUMN scheduled_for   TIMESTAMPTZ(3),
  -- Not before this time (retry backoff).
  ADD COLUMN run_after       TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  -- A queued job not started by then is skipped and reported.
  ADD COLUMN window_end      TIMESTAMPTZ(3),
  ADD COLUMN priority        INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN timeout_seconds INTEGER,
  ADD COLUMN max_attempts    INTEGER NOT NULL DEFAULT 1,
  -- Which master process runs it, and when that process last said it is alive.
  ADD COLUMN claimed_by      TEXT,
  ADD COLUMN heartbeat_at    TIMESTAMPTZ(3);

-- One first attempt per source and slot, whichever master plans it: two masters planning the same
-- slot insert one job, the other insert does nothing.
CREATE UNIQUE INDEX jobs_source_slot_first_attempt_key ON jobs (source_id, scheduled_for) WHERE scheduled_for IS NOT NULL AND attempt = 1;
CREATE INDEX jobs_queued_idx ON jobs (priority DESC, run_after, id) WHERE status = 'queued';

ALTER TYPE job_status ADD VALUE IF NOT EXISTS 'skipped';
