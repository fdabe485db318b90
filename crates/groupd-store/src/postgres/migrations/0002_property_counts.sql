-- Maintained property counts, kept by every write that creates a group or changes its properties
-- (postgres/counts.rs), so property_definitions and property_values read a few rows instead of
-- every group of a type. The SQLite backend keeps the same counts (its migration 0003).
--
-- Names and values have no length limit but a btree entry does (about 2.7 kB): a row is keyed by a
-- hash of its text, `project_id` first (see docs/postgres-schema.md), and its indexes hold bounded
-- prefixes. The hashes are the first 16 bytes of SHA-256, computed in SQL by the same expressions
-- here and in postgres/counts.rs:
--   key_hash = substring(sha256(convert_to(key, 'UTF8')) for 16)
--   hash     = substring(sha256(convert_to(key, 'UTF8') || '\x00'::bytea || convert_to(value, 'UTF8')) for 16)
-- (PostgreSQL text holds no NUL, so the NUL byte separates name from value unambiguously.)
-- `value` is the value as property_values shows it: strings bare, anything else as compact JSON.

-- How many of a type's groups hold each property name.
CREATE TABLE group_prop_keys (
    project_id BIGINT NOT NULL,
    group_type_index INT NOT NULL,
    key_hash BYTEA NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    groups BIGINT NOT NULL,
    PRIMARY KEY (project_id, group_type_index, key_hash)
);

-- How many of a type's groups hold each value (as text) of each property.
CREATE TABLE group_prop_values (
    project_id BIGINT NOT NULL,
    group_type_index INT NOT NULL,
    hash BYTEA NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    groups BIGINT NOT NULL,
    PRIMARY KEY (project_id, group_type_index, hash)
);
-- property_values' order (count desc, value asc) for one property, read as a top 20 from the
-- index. A value prefix sorts as the value does (byte order) and keeps the entry bounded; the few
-- values sharing a prefix are sorted at read time (as are names sharing theirs, filtered out).
CREATE INDEX group_prop_values_by_count
    ON group_prop_values (project_id, group_type_index, left(key, 100), groups DESC, left(value, 100));

-- Backfill from the groups already stored, reading `properties_text` (the object as REST returns
-- it) as `json`, which keeps each value's text as written. A `\u0000` escape (PostgreSQL text
-- cannot hold NUL) is read as `\ufffd`, as the store does on write; an escaped backslash before
-- `u0000` is not an escape of NUL and is left alone.
INSERT INTO group_prop_values (project_id, group_type_index, hash, key, value, groups)
SELECT project_id, group_type_index,
       substring(sha256(convert_to(key, 'UTF8') || '\x00'::bytea || convert_to(value, 'UTF8')) for 16),
       key, value, count(*)
FROM (
    SELECT g.project_id, g.group_type_index, j.key,
           CASE json_typeof(j.value) WHEN 'string' THEN j.value #>> '{}' ELSE j.value::text END AS value
    FROM groups g,
         json_each((CASE WHEN strpos(g.properties_text, '\u0000') > 0
                         THEN regexp_replace(g.properties_text, '(?<!\\)((?:\\\\)*)\\u0000', '\1\\ufffd', 'g')
                         ELSE g.properties_text END)::json) AS j
) AS p
GROUP BY project_id, group_type_index, key, value;

-- A group holds one value of each of its properties: a name's count is the sum of its values'.
INSERT INTO group_prop_keys (project_id, group_type_index, key_hash, key, groups)
SELECT project_id, group_type_index, substring(sha256(convert_to(key, 'UTF8')) for 16), key, sum(groups)
FROM group_prop_values
GROUP BY project_id, group_type_index, key;
