-- Keys can be listed and revoked: what a listing shows instead of the secret (NULL for keys made
-- before masks were kept), when the key was last used (to the minute), and when it was revoked
-- (kept, not deleted, so the activity a key authored still names a key that existed).
ALTER TABLE api_keys ADD COLUMN mask_value TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;

-- One row /_health rewrites to learn that the database still accepts writes (a full disk
-- refuses them while reads keep working).
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL
);
