//! The `groups` table of HogQL: a project's current groups, read in one statement.
use async_trait::async_trait;
use groupd_core::ProjectId;

use super::{
    SqliteStore,
    rows::{GROUP_COLS, group_from_row},
};
use crate::{Group, QueryStore, StoreResult};

#[async_trait]
impl QueryStore for SqliteStore {
    async fn query_groups(&self, project: ProjectId) -> StoreResult<Vec<Group>> {
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "SELECT {GROUP_COLS} FROM groups WHERE project_id = ?1"
                ))?;
                let rows = st.query_map([project.0], group_from_row)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await
    }
}
