-- Keys can be listed and revoked: what a listing shows instead of the secret (NULL for keys made
-- before masks were kept), when the key was last used (to the minute), and when it was revoked
-- (kept, not deleted, so the activity a key authored still names a key that existed).
ALTER TABLE api_keys
    ADD COLUMN IF NOT EXISTS mask_value TEXT,
    ADD COLUMN IF NOT EXISTS last_used_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS revoked_at TIMESTAMPTZ;

-- One row /_health rewrites to learn that the database still accepts writes (a full disk
-- refuses them while reads keep working).
CREATE TABLE IF NOT EXISTS health_probe (
    id INT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL
);
