//! Backups of PostgreSQL are PostgreSQL's own tools' job.
use async_trait::async_trait;

use super::PgStore;
use crate::{BackupStore, StoreError, StoreResult};

#[async_trait]
impl BackupStore for PgStore {
    async fn backup_to(&self, _dest: &std::path::Path) -> StoreResult<()> {
        Err(StoreError::Config(
            "groupd backup copies SQLite databases only: back up PostgreSQL with pg_dump \
             (or pg_basebackup), and copy the segment store (--data-dir) beside it"
                .into(),
        ))
    }
}
