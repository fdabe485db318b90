-- Activity entries as columns instead of one JSON document each. The document's constant
-- wrapper and the UUID as text were most of an entry's ~230 bytes, and activity (one entry per
-- changed property) was most of the file: 400 of 690 MB at 100k groups.
CREATE TABLE group_activity_v2 (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    uuid BLOB NOT NULL,            -- 16 bytes
    activity INTEGER NOT NULL,     -- 0 create_group, 1 create_property, 2 update_property
    action INTEGER NOT NULL,       -- 0 created, 1 changed, 2 deleted
    name TEXT NOT NULL,            -- the property
    before TEXT,                   -- JSON text; NULL for JSON null
    after TEXT,
    actor TEXT,                    -- API key label; NULL = System
    created_at INTEGER NOT NULL
);

INSERT INTO group_activity_v2
    (id, project_id, group_id, uuid, activity, action, name, before, after, actor, created_at)
SELECT id, project_id, group_id, unhex(replace(uuid, '-', '')),
       CASE activity WHEN 'create_group' THEN 0 WHEN 'create_property' THEN 1 ELSE 2 END,
       CASE detail ->> '$.changes[0].action' WHEN 'created' THEN 0 WHEN 'changed' THEN 1 ELSE 2 END,
       coalesce(detail ->> '$.name', ''),
       nullif(detail -> '$.changes[0].before', 'null'),
       nullif(detail -> '$.changes[0].after', 'null'),
       actor, created_at
FROM group_activity;

DROP TABLE group_activity;
ALTER TABLE group_activity_v2 RENAME TO group_activity;
CREATE INDEX group_activity_by_group ON group_activity (group_id, created_at DESC, id DESC);
