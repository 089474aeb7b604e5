-- Per-node storage quotas. A node is charged for the chunks it added to the store (the session that
-- first wrote a chunk), from the moment its session ends (sealed or failed) until GC deletes the
-- chunk. Another node deduplicating against a chunk adds nothing to the first node's usage, and a
-- failed session's chunks stay charged until they are collected, so failing does not escape the quota.
ALTER TABLE nodes ADD COLUMN quota_bytes BIGINT;
ALTER TABLE nodes ADD COLUMN used_bytes  BIGINT NOT NULL DEFAULT 0;

-- Who added each chunk and what it takes on disk; used_bytes is the sum over a node's rows, kept in
-- step by the statements that insert and delete rows so a backup reads its node's usage in one row.
CREATE TABLE chunk_owners (
  chunk_id     BYTEA   PRIMARY KEY,
  node_id      INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
  stored_bytes BIGINT  NOT NULL
);
CREATE INDEX chunk_owners_node_id_idx ON chunk_owners (node_id);
