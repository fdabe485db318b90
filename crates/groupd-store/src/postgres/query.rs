//! The `groups` table of HogQL: a project's current groups, read in one statement.
use async_trait::async_trait;
use groupd_core::ProjectId;

use super::{
    PgStore,
    rows::{GROUP_COLS, group_from_row},
};
use crate::{Group, QueryStore, StoreResult};

#[async_trait]
impl QueryStore for PgStore {
    async fn query_groups(&self, project: ProjectId) -> StoreResult<Vec<Group>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {GROUP_COLS} FROM groups WHERE project_id = $1"
            ))
            .await?;
        let rows = c.query(&st, &[&project.0]).await?;
        Ok(rows.iter().map(group_from_row).collect())
    }
}
