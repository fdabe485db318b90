-- Events from capture, keyed by the idempotency key (project, client timestamp as sent, uuid) and
-- stored in that key's B-tree (WITHOUT ROWID): one tree per insert instead of a rowid table plus a
-- unique index. Client timestamps grow roughly in order, so inserts append instead of dirtying a
-- random page per event (random v4 uuids first would).
CREATE TABLE events (
    project_id INTEGER NOT NULL,
    sent_ts INTEGER NOT NULL,      -- client timestamp as sent, µs; i64::MIN when absent
    uuid BLOB NOT NULL,            -- 16 bytes
    event TEXT NOT NULL,
    distinct_id TEXT NOT NULL,
    timestamp INTEGER NOT NULL,    -- skew-corrected event time, µs
    created_at INTEGER NOT NULL,   -- received_at, µs
    properties TEXT NOT NULL,      -- the JSON object as sent
    group_keys TEXT NOT NULL,      -- JSON array: position = group type index, '' = none
    PRIMARY KEY (project_id, sent_ts, uuid)
) WITHOUT ROWID;

CREATE TABLE ingestion_warnings (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    details TEXT NOT NULL,         -- JSON object
    timestamp INTEGER NOT NULL
);
CREATE INDEX ingestion_warnings_by_project ON ingestion_warnings (project_id, id DESC);
