-- The change stream's entries in a rowid table. WITHOUT ROWID keeps a whole row in its key's
-- B-tree, where a row of more than ~1000 bytes (a created group of 20-30 properties) spills into an
-- overflow page of its own: 1,085 of the table's 1,892 bytes per group were unused space. A rowid
-- table keeps rows up to ~4000 bytes on the leaf; the (project, seq) key becomes a unique index.
CREATE TABLE IF NOT EXISTS group_changes_v2 (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,            -- created | updated | deleted | type_deleted
    group_type_index INTEGER NOT NULL,
    group_type TEXT,               -- kept for type_deleted (the type row is gone)
    group_key TEXT,                -- NULL for type_deleted
    changes TEXT NOT NULL,         -- '~' + JSON {property: [old, new]}, or (older) {property: {old, new}}
    event_time INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (project_id, seq)
);

INSERT INTO group_changes_v2
    (project_id, seq, kind, group_type_index, group_type, group_key, changes, event_time,
     recorded_at, source)
SELECT project_id, seq, kind, group_type_index, group_type, group_key, changes, event_time,
       recorded_at, source
FROM group_changes ORDER BY project_id, seq;

DROP TABLE group_changes;
ALTER TABLE group_changes_v2 RENAME TO group_changes;
CREATE INDEX IF NOT EXISTS group_changes_by_age ON group_changes (recorded_at);
