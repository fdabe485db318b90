//! Online backup on SQLite: `VACUUM INTO` on a connection of its own reads one snapshot (a read
//! transaction, so the writer goes on) and writes it, compacted, to a new file. Everything
//! committed before it began is in the copy; nothing committed after is.
use async_trait::async_trait;

use super::{SqliteStore, migrate};
use crate::{BackupStore, StoreError, StoreResult};

#[async_trait]
impl BackupStore for SqliteStore {
    async fn backup_to(&self, dest: &std::path::Path) -> StoreResult<()> {
        if dest.exists() {
            return Err(StoreError::Config(format!(
                "{} exists already",
                dest.display()
            )));
        }
        let (path, dest) = (self.path.clone(), dest.to_owned());
        tokio::task::spawn_blocking(move || {
            let c = migrate::connect(&path)?;
            let target = dest.to_str().ok_or_else(|| {
                StoreError::Config(format!("{} is not a UTF-8 path", dest.display()))
            })?;
            c.execute("VACUUM INTO ?1", [target])?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Internal(anyhow::anyhow!("backup task failed: {e}")))?
    }
}
