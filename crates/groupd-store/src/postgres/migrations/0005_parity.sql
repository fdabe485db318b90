-- Related groups and usage metrics read a project's events by time.
CREATE INDEX events_by_time ON events (project_id, timestamp);

-- Each property's type on a group type (PostHog's property_type), from the first typed value
-- recorded (postgres/prop_types.rs); `null`, objects and arrays type nothing. Keyed by the same
-- name hash as group_prop_keys (migration 0002).
CREATE TABLE group_prop_types (
    project_id BIGINT NOT NULL,
    group_type_index INT NOT NULL,
    key_hash BYTEA NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    property_type TEXT NOT NULL,   -- Boolean, Numeric, DateTime, String
    PRIMARY KEY (project_id, group_type_index, key_hash)
);

-- Backfill from the groups already stored, oldest group first. The date test is coarser than
-- groupd_core's (a leading YYYY-MM-DD); values recorded from now on use that one.
INSERT INTO group_prop_types (project_id, group_type_index, key_hash, key, property_type)
SELECT DISTINCT ON (project_id, group_type_index, key)
       project_id, group_type_index, substring(sha256(convert_to(key, 'UTF8')) for 16), key, t
FROM (
    SELECT g.project_id, g.group_type_index, g.id, j.key,
           CASE jsonb_typeof(j.value)
                WHEN 'boolean' THEN 'Boolean'
                WHEN 'number' THEN 'Numeric'
                ELSE CASE WHEN lower(btrim(j.value #>> '{}')) IN ('true', 'false') THEN 'Boolean'
                          WHEN (j.value #>> '{}') ~ '^[0-9]{4}-[01][0-9]-[0-3][0-9]' THEN 'DateTime'
                          ELSE 'String' END
           END AS t
    FROM groups g, jsonb_each(g.properties) AS j
    WHERE jsonb_typeof(j.value) IN ('boolean', 'number', 'string')
) AS p
ORDER BY project_id, group_type_index, key, id;

-- Usage metrics of a group type (groups.md): numbers over the events of one group.
CREATE TABLE usage_metrics (
    project_id BIGINT NOT NULL,
    id UUID NOT NULL,
    group_type_index INT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    format TEXT NOT NULL,
    interval_days INT NOT NULL,
    display TEXT NOT NULL,
    filters TEXT NOT NULL,         -- JSON object as sent, key order kept
    math TEXT NOT NULL,
    math_property TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, group_type_index, name)
);
CREATE INDEX usage_metrics_list ON usage_metrics (project_id, group_type_index, created_at, id);

-- Indexes whose type was ever deleted: a type created later at such an index does not inherit
-- the events dated before it (their `$group_N` keys named groups of the old type).
CREATE TABLE group_types_reused (
    project_id BIGINT NOT NULL,
    group_type_index INT NOT NULL,
    PRIMARY KEY (project_id, group_type_index)
);
