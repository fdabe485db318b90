-- Columnar event segments. Compaction moves committed events out of `events` into Parquet files
-- on an object store; `event_segments` lists the live files, so one transaction makes a segment
-- live and takes its events out of the row store, and readers see both sides consistently.
CREATE TABLE event_segments (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    day INTEGER NOT NULL,             -- UTC day of the events' timestamps, days since 1970-01-01
    path TEXT NOT NULL UNIQUE,        -- relative to the segment root
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    min_timestamp INTEGER NOT NULL,   -- µs
    max_timestamp INTEGER NOT NULL,   -- µs
    created_at INTEGER NOT NULL       -- µs
);
CREATE INDEX event_segments_by_partition ON event_segments (project_id, day);

-- The idempotency keys of moved events, so a retry is still recognised after its event left
-- `events` (kept for the dedup window after the event was received).
CREATE TABLE moved_event_keys (
    project_id INTEGER NOT NULL,
    sent_ts INTEGER NOT NULL,
    uuid BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, sent_ts, uuid)
) WITHOUT ROWID;
CREATE INDEX moved_event_keys_by_age ON moved_event_keys (created_at);

-- Where the segments live (`data_dir`), as first used.
CREATE TABLE segment_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The one compactor's lease: a process that dies holding it loses it at `until_us`.
CREATE TABLE compactor_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder TEXT,
    until_us INTEGER NOT NULL
);
INSERT INTO compactor_lease (id, holder, until_us) VALUES (1, NULL, 0);
