-- Read-side indexes over group properties, maintained by every write that changes a group
-- (sqlite/counts.rs, sqlite/fts.rs), so property_definitions, property_values and search never scan groups.

-- How many of a type's groups hold each property name.
CREATE TABLE group_prop_keys (
    project_id INTEGER NOT NULL,
    group_type_index INTEGER NOT NULL,
    key TEXT NOT NULL,
    groups INTEGER NOT NULL,
    PRIMARY KEY (project_id, group_type_index, key)
) WITHOUT ROWID;

-- How many of a type's groups hold each value (as text) of each property.
CREATE TABLE group_prop_values (
    project_id INTEGER NOT NULL,
    group_type_index INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    groups INTEGER NOT NULL,
    PRIMARY KEY (project_id, group_type_index, key, value)
) WITHOUT ROWID;

-- Trigram index over each group's properties text: candidates for `search`, which the exact
-- predicate then confirms. Contentless: the text lives in `groups` only.
CREATE VIRTUAL TABLE groups_fts USING fts5(
    props, content = '', contentless_delete = 1,
    tokenize = 'trigram case_sensitive 0', detail = 'none'
);
-- `search` also matches a key equal to it, case-insensitively (groupd_lower is Unicode-aware).
CREATE INDEX groups_key_lower ON groups (project_id, group_type_index, groupd_lower(group_key));

INSERT INTO group_prop_keys (project_id, group_type_index, key, groups)
SELECT g.project_id, g.group_type_index, j.key, count(*)
FROM groups g, json_each(g.properties) j GROUP BY 1, 2, 3;

INSERT INTO group_prop_values (project_id, group_type_index, key, value, groups)
SELECT g.project_id, g.group_type_index, j.key,
       CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                   WHEN 'null' THEN 'null' WHEN 'real' THEN json_quote(j.value)
                   ELSE CAST(j.value AS TEXT) END,
       count(*)
FROM groups g, json_each(g.properties) j GROUP BY 1, 2, 3, 4;

INSERT INTO groups_fts (rowid, props) SELECT id, properties FROM groups;
