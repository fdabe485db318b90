//! The engine's events read. Interim version: the hot tail only (every stored event of the
//! project, no segments); the segments branch replaces this file with the catalog read.
use async_trait::async_trait;
use groupd_core::ProjectId;

use super::{PgStore, values::Ts};
use crate::{AnalyticsStore, EventsSnapshot, StoreResult, StoredEvent};

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn events_snapshot(
        &self,
        project: ProjectId,
        since_us: Option<i64>,
    ) -> StoreResult<EventsSnapshot> {
        let c = self.client().await?;
        const COLS: &str =
            "uuid, event, distinct_id, timestamp, created_at, properties::text, group_keys";
        let rows = match since_us {
            Some(since) => {
                let sql =
                    format!("SELECT {COLS} FROM events WHERE project_id = $1 AND timestamp >= $2");
                let st = c.prepare_cached(&sql).await?;
                c.query(&st, &[&project.0, &Ts(since)]).await?
            }
            None => {
                let sql = format!("SELECT {COLS} FROM events WHERE project_id = $1");
                let st = c.prepare_cached(&sql).await?;
                c.query(&st, &[&project.0]).await?
            }
        };
        let hot = rows
            .iter()
            .map(|r| StoredEvent {
                uuid: r.get(0),
                event: r.get(1),
                distinct_id: r.get(2),
                timestamp_us: r.get::<_, Ts>(3).0,
                created_at_us: r.get::<_, Ts>(4).0,
                properties: r.get(5),
                group_keys: r.get(6),
            })
            .collect();
        Ok(EventsSnapshot {
            segments: vec![],
            hot,
        })
    }
}
