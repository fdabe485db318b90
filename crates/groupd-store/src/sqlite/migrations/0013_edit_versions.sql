-- Property versions one row per edit (issue 13): the edit's times and source once, its
-- operations as one JSON text (crate::lifecycle::edit_ops), and the activity log read from the
-- same rows. A version row per property, with the source repeated on each, and an activity row
-- per property besides, were ~3,200 of ~5,400 bytes per group and ~35 writes per new group.
-- `group_property_versions` keeps the rows written before (read with these), `group_activity`
-- the deletions, the entries of deleted groups (copied there when their versions go) and the
-- entries written before.
CREATE TABLE IF NOT EXISTS group_versions (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,
    event_time INTEGER NOT NULL,   -- µs
    recorded_at INTEGER NOT NULL,  -- µs
    source TEXT NOT NULL,          -- ChangeSource::to_stored
    ops TEXT NOT NULL              -- JSON: [[property, value, code(, before)], …] or {property: value}
);
CREATE INDEX IF NOT EXISTS group_versions_by_group ON group_versions (group_id);
