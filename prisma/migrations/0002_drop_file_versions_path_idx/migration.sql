-- Searches by path always name the node, so they know the source ids and use
-- file_versions_source_id_path_from_seq_idx; the path-only index only cost time on every row a
-- snapshot inserts (about a quarter of recording 100,000 new entries).
DROP INDEX IF EXISTS file_versions_path_idx;
