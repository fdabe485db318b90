//! Web UI sessions on SQLite.
use async_trait::async_trait;
use groupd_core::SecretDigest;
use rusqlite::{OptionalExtension, params};

use super::{
    SqliteStore,
    rows::{API_KEY_COL_COUNT, API_KEY_COLS, api_key_from_row},
};
use crate::{NewSession, SessionStore, StoreResult, UiSession};

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        self.writer
            .write(move |c| {
                c.prepare_cached("DELETE FROM ui_sessions WHERE last_seen_at < ?1")?
                    .execute([new.expire_before_us])?;
                c.prepare_cached(
                    "INSERT INTO ui_sessions (id_digest, key_id, csrf_token, started_at, last_seen_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                )?
                .execute(params![
                    new.digest.0.as_slice(),
                    new.key_id,
                    new.csrf_token,
                    new.now_us
                ])?;
                Ok(())
            })
            .await
    }

    async fn find_session(
        &self,
        digest: &SecretDigest,
        idle_since_us: i64,
    ) -> StoreResult<Option<UiSession>> {
        let digest = digest.clone();
        self.readers
            .read_inline(move |c| {
                let row = c
                    .prepare_cached(&format!(
                        "SELECT {API_KEY_COLS}, s.csrf_token, s.last_seen_at, s.id_digest
                         FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id
                         WHERE s.id_digest = ?1 AND s.last_seen_at >= ?2
                           AND k.revoked_at IS NULL"
                    ))?
                    .query_row(params![digest.0.as_slice(), idle_since_us], |r| {
                        Ok((
                            UiSession {
                                key: api_key_from_row(r)?,
                                csrf_token: r.get(API_KEY_COL_COUNT)?,
                                last_seen_us: r.get(API_KEY_COL_COUNT + 1)?,
                            },
                            r.get::<_, Vec<u8>>(API_KEY_COL_COUNT + 2)?,
                        ))
                    })
                    .optional()?;
                Ok(row
                    .filter(|(_, stored)| digest.matches(stored))
                    .map(|(s, _)| s))
            })
            .await
    }

    async fn touch_session(&self, digest: &SecretDigest, now_us: i64) -> StoreResult<()> {
        let digest = digest.clone();
        self.writer
            .write(move |c| {
                c.prepare_cached(
                    "UPDATE ui_sessions SET last_seen_at = ?2
                     WHERE id_digest = ?1 AND last_seen_at < ?2",
                )?
                .execute(params![digest.0.as_slice(), now_us])?;
                Ok(())
            })
            .await
    }

    async fn end_session(&self, digest: &SecretDigest) -> StoreResult<()> {
        let digest = digest.clone();
        self.writer
            .write(move |c| {
                c.prepare_cached("DELETE FROM ui_sessions WHERE id_digest = ?1")?
                    .execute([digest.0.as_slice()])?;
                Ok(())
            })
            .await
    }
}
