-- Web UI sessions: only the SHA-256 digest of the browser's random id is stored, with the key the
-- session acts for; a revoked key ends its sessions (the lookup joins live keys only).
CREATE TABLE ui_sessions (
    id_digest BLOB PRIMARY KEY,
    key_id INTEGER NOT NULL REFERENCES api_keys(id),
    csrf_token TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX ui_sessions_last_seen ON ui_sessions (last_seen_at);
