-- Chunk references, kept like the file index: one row per (source, chunk) presence interval, so rows
-- grow with changes, not with snapshots x chunks. A chunk is referenced while any row for it exists;
-- deleting a snapshot deletes only the rows no surviving snapshot of the source falls in.
CREATE TABLE chunk_refs (
  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  chunk_id  BYTEA   NOT NULL,
  from_seq  INTEGER NOT NULL,
  to_seq    INTEGER,
  PRIMARY KEY (source_id, chunk_id, from_seq)
);
-- Forgetting snapshot k scans rows born after the previous survivor: (source_id, from_seq).
CREATE INDEX chunk_refs_source_id_from_seq_idx ON chunk_refs (source_id, from_seq);
-- "Is this chunk still referenced anywhere?" for GC candidates.
CREATE INDEX chunk_refs_chunk_id_idx ON chunk_refs (chunk_id);

-- Chunks that lost their last reference, and since when. GC works through this list only, so its
-- cost follows what was deleted, not the size of the store.
CREATE TABLE gc_candidates (
  chunk_id BYTEA PRIMARY KEY,
  since    TIMESTAMPTZ(3) NOT NULL DEFAULT now()
);
