-- Web UI sessions: only the SHA-256 digest of the browser's random id is stored, with the key the
-- session acts for; a revoked key ends its sessions (the lookup joins live keys only).
CREATE TABLE IF NOT EXISTS ui_sessions (
    id_digest BYTEA PRIMARY KEY,
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    csrf_token TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS ui_sessions_last_seen ON ui_sessions (last_seen_at);
