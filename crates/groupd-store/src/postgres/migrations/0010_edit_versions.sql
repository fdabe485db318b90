-- Property versions one row per edit (issue 13): the edit's times and source once, its
-- operations as one JSON text (crate::lifecycle::edit_ops), and the activity log read from the
-- same rows. A version row and an activity row per property were ~6,400 of ~10,900 bytes per
-- group. `group_property_versions` keeps the rows written before (read with these),
-- `group_activity` the deletions, the entries of deleted groups (copied there when their
-- versions go) and the entries written before.
CREATE TABLE IF NOT EXISTS group_versions (
    project_id BIGINT NOT NULL,
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    group_id BIGINT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    source TEXT NOT NULL,          -- ChangeSource::to_stored
    ops TEXT NOT NULL,             -- JSON: [[property, value, code(, before)], …] or {property: value}
    PRIMARY KEY (project_id, id)
);
CREATE INDEX IF NOT EXISTS group_versions_by_group ON group_versions (project_id, group_id);
