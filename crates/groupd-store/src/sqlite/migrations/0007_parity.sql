-- Related groups and usage metrics read a project's events by time.
CREATE INDEX events_by_time ON events (project_id, timestamp);

-- Each property's type on a group type (PostHog's property_type), from the first typed value
-- recorded (sqlite/prop_types.rs); `null`, objects and arrays type nothing.
CREATE TABLE group_prop_types (
    project_id INTEGER NOT NULL,
    group_type_index INTEGER NOT NULL,
    key TEXT NOT NULL,
    property_type TEXT NOT NULL,   -- Boolean, Numeric, DateTime, String
    PRIMARY KEY (project_id, group_type_index, key)
) WITHOUT ROWID;

-- Backfill from the groups already stored, oldest group first. The date test is coarser than
-- groupd_core's (a leading YYYY-MM-DD); values recorded from now on use that one.
INSERT OR IGNORE INTO group_prop_types (project_id, group_type_index, key, property_type)
SELECT g.project_id, g.group_type_index, j.key,
       CASE WHEN j.type IN ('true', 'false') THEN 'Boolean'
            WHEN j.type IN ('integer', 'real') THEN 'Numeric'
            WHEN lower(trim(j.value)) IN ('true', 'false') THEN 'Boolean'
            WHEN j.value GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]*' THEN 'DateTime'
            ELSE 'String' END
FROM groups g, json_each(g.properties) j
WHERE j.type IN ('true', 'false', 'integer', 'real', 'text')
ORDER BY g.id;

-- Usage metrics of a group type (groups.md): numbers over the events of one group.
CREATE TABLE usage_metrics (
    id TEXT PRIMARY KEY,           -- UUID v7, hyphenated
    project_id INTEGER NOT NULL,
    group_type_index INTEGER NOT NULL,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    interval_days INTEGER NOT NULL,
    display TEXT NOT NULL,
    filters TEXT NOT NULL,         -- JSON object as sent
    math TEXT NOT NULL,
    math_property TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, group_type_index, name)
);
CREATE INDEX usage_metrics_list ON usage_metrics (project_id, group_type_index, created_at, id);

-- Indexes whose type was ever deleted: a type created later at such an index does not inherit
-- the events dated before it (their `$group_N` keys named groups of the old type).
CREATE TABLE group_types_reused (
    project_id INTEGER NOT NULL,
    group_type_index INTEGER NOT NULL,
    PRIMARY KEY (project_id, group_type_index)
) WITHOUT ROWID;
