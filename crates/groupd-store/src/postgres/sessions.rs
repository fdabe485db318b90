//! Web UI sessions on PostgreSQL.
use async_trait::async_trait;
use groupd_core::SecretDigest;

use super::{
    PgStore,
    rows::{API_KEY_COL_COUNT, API_KEY_COLS, api_key_from_row, select_one},
    values::Ts,
};
use crate::{NewSession, SessionStore, StoreResult, UiSession};

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        let c = self.client().await?;
        let expire = c
            .prepare_cached("DELETE FROM ui_sessions WHERE last_seen_at < $1")
            .await?;
        c.execute(&expire, &[&Ts(new.expire_before_us)]).await?;
        let insert = c
            .prepare_cached(
                "INSERT INTO ui_sessions (id_digest, key_id, csrf_token, started_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .await?;
        c.execute(
            &insert,
            &[
                &new.digest.0.as_slice(),
                &new.key_id,
                &new.csrf_token,
                &Ts(new.now_us),
            ],
        )
        .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        digest: &SecretDigest,
        idle_since_us: i64,
    ) -> StoreResult<Option<UiSession>> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {API_KEY_COLS}, s.csrf_token, s.last_seen_at, s.id_digest
             FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id
             WHERE s.id_digest = $1 AND s.last_seen_at >= $2 AND k.revoked_at IS NULL"
        );
        let row = select_one(&c, &sql, &[&digest.0.as_slice(), &Ts(idle_since_us)], |r| {
            (
                UiSession {
                    key: api_key_from_row(r),
                    csrf_token: r.get(API_KEY_COL_COUNT),
                    last_seen_us: r.get::<_, Ts>(API_KEY_COL_COUNT + 1).0,
                },
                r.get::<_, Vec<u8>>(API_KEY_COL_COUNT + 2),
            )
        })
        .await?;
        Ok(row
            .filter(|(_, stored)| digest.matches(stored))
            .map(|(s, _)| s))
    }

    async fn touch_session(&self, digest: &SecretDigest, now_us: i64) -> StoreResult<()> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "UPDATE ui_sessions SET last_seen_at = $2
                 WHERE id_digest = $1 AND last_seen_at < $2",
            )
            .await?;
        c.execute(&st, &[&digest.0.as_slice(), &Ts(now_us)]).await?;
        Ok(())
    }

    async fn end_session(&self, digest: &SecretDigest) -> StoreResult<()> {
        let c = self.client().await?;
        let st = c
            .prepare_cached("DELETE FROM ui_sessions WHERE id_digest = $1")
            .await?;
        c.execute(&st, &[&digest.0.as_slice()]).await?;
        Ok(())
    }
}
