-- A deleted chunk stays listed (deleted_at set) for a while: a backup that started before the
-- deletion and reuses the chunk must still find it in this list when it seals, see its file gone,
-- and fail instead of sealing a reference to nothing.
ALTER TABLE gc_candidates ADD COLUMN deleted_at TIMESTAMPTZ(3);
