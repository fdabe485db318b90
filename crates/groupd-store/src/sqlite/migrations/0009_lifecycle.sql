-- Group lifecycle (issue 13): deletion tombstones, property versions, the change stream.

-- The deletion of a group: writes dated before `deleted_at` (event time, µs) are refused, so late
-- or retried events do not bring it back. `group_id` is the deleted row's id: its activity stays
-- readable by key.
CREATE TABLE IF NOT EXISTS group_tombstones (
    project_id INTEGER NOT NULL,
    group_type_index INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    PRIMARY KEY (project_id, group_type_index, group_key)
) WITHOUT ROWID;

-- Every change of a group property (capture, REST, import), late ones included; a write equal to
-- the value it replaces is none. `previous_value` is derived on read, in event-time order.
CREATE TABLE IF NOT EXISTS group_property_versions (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,
    property TEXT NOT NULL,
    event_time INTEGER NOT NULL,   -- µs: what versions are ordered by
    recorded_at INTEGER NOT NULL,  -- µs: when groupd stored it
    op INTEGER NOT NULL,           -- 0 set, 1 unset
    value TEXT,                    -- JSON; NULL for an unset
    source TEXT NOT NULL           -- JSON {kind, event_uuid | key_label}
);
CREATE INDEX IF NOT EXISTS group_property_versions_by_group
    ON group_property_versions (group_id, event_time DESC, recorded_at DESC, id DESC);

-- The change stream: one gap-free sequence per project, the head bumped as the last step of the
-- mutating transaction (one writer: commit order = seq order).
CREATE TABLE IF NOT EXISTS project_change_seq (
    project_id INTEGER PRIMARY KEY,
    head INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS group_changes (
    project_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,            -- created | updated | deleted | type_deleted
    group_type_index INTEGER NOT NULL,
    group_type TEXT,               -- kept for type_deleted (the type row is gone)
    group_key TEXT,                -- NULL for type_deleted
    changes TEXT NOT NULL,         -- JSON {property: {old, new}}
    event_time INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (project_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_changes_by_age ON group_changes (recorded_at);
