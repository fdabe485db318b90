//! The engine's events read. Interim version: the hot tail only (every stored event of the
//! project, no segments); the segments branch replaces this file with the catalog read.
use async_trait::async_trait;
use groupd_core::ProjectId;

use super::SqliteStore;
use crate::{AnalyticsStore, EventsSnapshot, StoreResult, StoredEvent};

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn events_snapshot(
        &self,
        project: ProjectId,
        since_us: Option<i64>,
    ) -> StoreResult<EventsSnapshot> {
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT uuid, event, distinct_id, timestamp, created_at, properties, group_keys \
                     FROM events WHERE project_id = ?1 AND timestamp >= ?2",
                )?;
                let rows = st.query_map(
                    rusqlite::params![project.0, since_us.unwrap_or(i64::MIN)],
                    |r| {
                        let uuid: Vec<u8> = r.get(0)?;
                        let keys: String = r.get(6)?;
                        Ok(StoredEvent {
                            uuid: uuid::Uuid::from_slice(&uuid).unwrap_or_default(),
                            event: r.get(1)?,
                            distinct_id: r.get(2)?,
                            timestamp_us: r.get(3)?,
                            created_at_us: r.get(4)?,
                            properties: r.get(5)?,
                            group_keys: serde_json::from_str(&keys).unwrap_or_default(),
                        })
                    },
                )?;
                Ok(EventsSnapshot {
                    segments: vec![],
                    hot: rows.collect::<rusqlite::Result<Vec<_>>>()?,
                })
            })
            .await
    }
}
