-- Columnar event segments. Compaction moves committed events out of `events` into Parquet files
-- on an object store; `event_segments` lists the live files, so one transaction makes a segment
-- live and takes its events out of the row store, and readers see both sides consistently.
-- Idempotent (IF NOT EXISTS): a schema rolled back to an earlier version in tests runs it again.
CREATE TABLE IF NOT EXISTS event_segments (
    project_id BIGINT NOT NULL,
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    day BIGINT NOT NULL,              -- UTC day of the events' timestamps, days since 1970-01-01
    path TEXT NOT NULL,               -- relative to the segment root
    rows BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    min_timestamp TIMESTAMPTZ NOT NULL,
    max_timestamp TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, path)
);
CREATE INDEX IF NOT EXISTS event_segments_by_partition ON event_segments (project_id, day);

-- The idempotency keys of moved events, so a retry is still recognised after its event left
-- `events` (kept for the dedup window after the event was received).
CREATE TABLE IF NOT EXISTS moved_event_keys (
    project_id BIGINT NOT NULL,
    sent_ts BIGINT NOT NULL,
    uuid UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, sent_ts, uuid)
);
CREATE INDEX IF NOT EXISTS moved_event_keys_by_age ON moved_event_keys (created_at);

-- Where the segments live (`data_dir`), as first used.
CREATE TABLE IF NOT EXISTS segment_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
