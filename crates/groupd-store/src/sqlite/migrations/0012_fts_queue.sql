-- The trigram index off the write path (issue 13): a write queues the group's id here, in its own
-- transaction, and the writer indexes the queue in large batches (sqlite/fts.rs). Flushing the
-- index in every write transaction was a third of the ingest time. A search reads the queued
-- groups as candidates too, so it still finds a group the moment its write is answered.
-- `indexed` = 1 when the index holds an older entry of the group (to delete before re-adding).
CREATE TABLE IF NOT EXISTS groups_fts_pending (
    group_id INTEGER PRIMARY KEY,
    indexed INTEGER NOT NULL
);
-- No automerge: each flush of the index merged older segments, checking every entry against
-- their tombstones (`contentless_delete`): 12 % of ingest time with the queue in place. The
-- writer merges while idle instead (fts::merge_step), and FTS5's crisis merge still bounds the
-- segments under a load that never idles.
INSERT INTO groups_fts (groups_fts, rank) VALUES ('automerge', 0);
