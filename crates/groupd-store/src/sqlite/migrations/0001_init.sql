-- Times are INTEGER microseconds since the Unix epoch (UTC). JSON is TEXT.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    api_token TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Personal API keys: only the SHA-256 digest of the plaintext is kept.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    secure_digest BLOB NOT NULL UNIQUE,
    scopes TEXT NOT NULL,          -- comma-separated scope names
    projects TEXT,                 -- JSON array of project ids, NULL = every project
    created_at INTEGER NOT NULL
);

CREATE TABLE group_types (
    project_id INTEGER NOT NULL REFERENCES projects(id),
    group_type_index INTEGER NOT NULL,
    group_type TEXT NOT NULL,
    name_singular TEXT,
    name_plural TEXT,
    default_columns TEXT,          -- JSON array or NULL
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, group_type_index),
    UNIQUE (project_id, group_type)
) WITHOUT ROWID;

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    group_type_index INTEGER NOT NULL,
    group_key TEXT NOT NULL,
    properties TEXT NOT NULL,      -- JSON object, key order as stored
    props_meta TEXT NOT NULL,      -- JSON {name: [time_us, "s"|"o"|"u"]}: merge state, tombstones
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (project_id, group_type_index, group_key)
);
-- The list order: newest first, then key descending.
CREATE INDEX groups_list ON groups (project_id, group_type_index, created_at DESC, group_key DESC);

CREATE TABLE group_activity (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    uuid TEXT NOT NULL,
    activity TEXT NOT NULL,
    detail TEXT NOT NULL,          -- JSON object
    actor TEXT,                    -- API key label; NULL = System
    created_at INTEGER NOT NULL
);
CREATE INDEX group_activity_by_group ON group_activity (group_id, created_at DESC, id DESC);
