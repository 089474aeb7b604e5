-- Pullback catalog, initial schema. Applied by packages/master/src/catalog/migrate.ts; never edit
-- this file once released (the runner refuses a changed applied migration): add 0002_... instead.
-- prisma/schema.prisma describes the same tables; the drift test keeps them in step.

CREATE TYPE source_type AS ENUM ('fs', 'mysql', 'postgres', 'image');
CREATE TYPE backup_level AS ENUM ('full', 'differential', 'incremental');
CREATE TYPE job_kind AS ENUM ('backup', 'restore', 'prune', 'gc', 'verify');
CREATE TYPE job_status AS ENUM ('queued', 'running', 'succeeded', 'warning', 'failed', 'cancelled');
CREATE TYPE snapshot_status AS ENUM ('complete', 'warning', 'damaged');
CREATE TYPE entry_type AS ENUM ('file', 'dir', 'symlink', 'hardlink', 'fifo', 'chardev', 'blockdev', 'socket');
CREATE TYPE log_level AS ENUM ('debug', 'info', 'warn', 'error');

CREATE TABLE nodes (
  id         SERIAL PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  address    TEXT,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT now()
);

CREATE TABLE sources (
  id         SERIAL PRIMARY KEY,
  node_id    INTEGER NOT NULL REFERENCES nodes (id) ON DELETE RESTRICT,
  name       TEXT NOT NULL,
  type       source_type NOT NULL,
  config     JSONB NOT NULL DEFAULT '{}',
  codec      TEXT NOT NULL DEFAULT 'zstd',
  last_seq   INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  UNIQUE (node_id, name)
);

-- COLLATE "C": ids are compared bytewise and looked up by prefix (LIKE 'abc%'), which an index
-- serves only under the C collation.
CREATE TABLE snapshots (
  id              TEXT COLLATE "C" PRIMARY KEY,
  node_id         INTEGER NOT NULL REFERENCES nodes (id) ON DELETE RESTRICT,
  source_id       INTEGER NOT NULL REFERENCES sources (id) ON DELETE RESTRICT,
  seq             INTEGER NOT NULL,
  level           backup_level NOT NULL,
  requested_level backup_level NOT NULL,
  base_id         TEXT,
  started_at      TIMESTAMPTZ(3) NOT NULL,
  finished_at     TIMESTAMPTZ(3) NOT NULL,
  recorded_at     TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  codec           TEXT NOT NULL,
  file_count      INTEGER NOT NULL,
  dir_count       INTEGER NOT NULL,
  other_count     INTEGER NOT NULL,
  bytes_total     BIGINT NOT NULL,
  bytes_read      BIGINT NOT NULL,
  bytes_new       BIGINT NOT NULL,
  bytes_stored    BIGINT NOT NULL,
  bytes_sent      BIGINT NOT NULL,
  chunks_total    INTEGER NOT NULL,
  chunks_new      INTEGER NOT NULL,
  manifest        JSONB NOT NULL,
  warnings        TEXT[] NOT NULL DEFAULT '{}',
  status          snapshot_status NOT NULL DEFAULT 'complete',
  error           TEXT,
  protected       BOOLEAN NOT NULL DEFAULT false,
  UNIQUE (source_id, seq)
);
CREATE INDEX snapshots_node_id_started_at_idx ON snapshots (node_id, started_at);

CREATE TABLE jobs (
  id              SERIAL PRIMARY KEY,
  node_id         INTEGER REFERENCES nodes (id) ON DELETE RESTRICT,
  source_id       INTEGER REFERENCES sources (id) ON DELETE RESTRICT,
  kind            job_kind NOT NULL,
  requested_level backup_level,
  level           backup_level,
  status          job_status NOT NULL DEFAULT 'queued',
  params          JSONB NOT NULL DEFAULT '{}',
  snapshot_id     TEXT COLLATE "C" REFERENCES snapshots (id) ON DELETE SET NULL,
  attempt         INTEGER NOT NULL DEFAULT 1,
  created_at      TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  started_at      TIMESTAMPTZ(3),
  finished_at     TIMESTAMPTZ(3),
  updated_at      TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  phase           TEXT,
  progress        DOUBLE PRECISION,
  files_done      BIGINT NOT NULL DEFAULT 0,
  bytes_done      BIGINT NOT NULL DEFAULT 0,
  bytes_total     BIGINT,
  bytes_read      BIGINT NOT NULL DEFAULT 0,
  bytes_new       BIGINT NOT NULL DEFAULT 0,
  bytes_stored    BIGINT NOT NULL DEFAULT 0,
  bytes_sent      BIGINT NOT NULL DEFAULT 0,
  warnings        TEXT[] NOT NULL DEFAULT '{}',
  error           TEXT
);
CREATE INDEX jobs_status_created_at_idx ON jobs (status, created_at);
CREATE INDEX jobs_source_id_created_at_idx ON jobs (source_id, created_at);
CREATE INDEX jobs_snapshot_id_idx ON jobs (snapshot_id);

CREATE TABLE job_logs (
  id      BIGSERIAL PRIMARY KEY,
  job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  at      TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  level   log_level NOT NULL DEFAULT 'info',
  message TEXT NOT NULL
);
CREATE INDEX job_logs_job_id_id_idx ON job_logs (job_id, id);

-- One row per version of a path: valid for the source's snapshots with from_seq <= seq and
-- (to_seq IS NULL OR seq < to_seq). COLLATE "C" makes path order bytewise (the manifest's order)
-- and lets the (source_id, path) index serve directory-prefix queries.
CREATE TABLE file_versions (
  id          BIGSERIAL PRIMARY KEY,
  source_id   INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
  path        TEXT COLLATE "C" NOT NULL,
  type        entry_type NOT NULL,
  size        BIGINT NOT NULL,
  mtime_ns    BIGINT NOT NULL,
  mode        INTEGER NOT NULL,
  uid         BIGINT NOT NULL,
  gid         BIGINT NOT NULL,
  target      TEXT,
  fingerprint BYTEA,
  from_seq    INTEGER NOT NULL,
  to_seq      INTEGER,
  CHECK (to_seq IS NULL OR to_seq > from_seq)
);
CREATE INDEX file_versions_source_id_path_from_seq_idx ON file_versions (source_id, path, from_seq);
-- At most one open version per path: the recorder diffs a new snapshot against exactly these rows.
CREATE UNIQUE INDEX file_versions_open_path_key ON file_versions (source_id, path) WHERE to_seq IS NULL;
-- "Every version of etc/passwd on any source": path lookups without a source.
CREATE INDEX file_versions_path_idx ON file_versions (path);
