-- Group lifecycle (issue 13): deletion tombstones, property versions, the change stream.

-- The deletion of a group: writes dated before `deleted_at` are refused, so late or retried
-- events do not bring it back. `group_id` is the deleted row's id: its activity stays readable.
CREATE TABLE IF NOT EXISTS group_tombstones (
    project_id BIGINT NOT NULL,
    group_type_index INT NOT NULL,
    group_key TEXT COLLATE "C" NOT NULL,
    deleted_at TIMESTAMPTZ NOT NULL,
    group_id BIGINT NOT NULL,
    PRIMARY KEY (project_id, group_type_index, group_key)
);

-- Every change of a group property (capture, REST, import), late ones included; a write equal to
-- the value it replaces is none. `previous_value` is derived on read, in event-time order.
CREATE TABLE IF NOT EXISTS group_property_versions (
    project_id BIGINT NOT NULL,
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    group_id BIGINT NOT NULL,
    property TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    op SMALLINT NOT NULL,          -- 0 set, 1 unset
    value TEXT,                    -- JSON; NULL for an unset
    source TEXT NOT NULL,          -- JSON {kind, event_uuid | key_label}
    PRIMARY KEY (project_id, id)
);
CREATE INDEX IF NOT EXISTS group_property_versions_by_group
    ON group_property_versions (project_id, group_id, event_time DESC, recorded_at DESC, id DESC);

-- The change stream: one gap-free sequence per project. The head row is bumped with
-- `UPDATE … SET head = head + n RETURNING head` as the last statement of the mutating
-- transaction: the next writer waits on its row lock until this one commits, so seq order is
-- commit order and a rollback leaves no gap.
CREATE TABLE IF NOT EXISTS project_change_seq (
    project_id BIGINT PRIMARY KEY,
    head BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS group_changes (
    project_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,            -- created | updated | deleted | type_deleted
    group_type_index INT NOT NULL,
    group_type TEXT,               -- kept for type_deleted (the type row is gone)
    group_key TEXT,                -- NULL for type_deleted
    changes TEXT NOT NULL,         -- JSON {property: {old, new}}
    event_time TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (project_id, seq)
);
CREATE INDEX IF NOT EXISTS group_changes_by_age ON group_changes (recorded_at);
