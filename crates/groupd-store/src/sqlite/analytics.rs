//! The analytics engine's read on SQLite: the live segments and the hot tail of `events`, in one
//! read transaction (WAL gives it one snapshot), so a compaction committing meanwhile is seen
//! entirely or not at all.
use async_trait::async_trait;
use groupd_core::ProjectId;
use rusqlite::{Connection, Row, params};

use super::SqliteStore;
use crate::{
    AnalyticsStore, EventsSnapshot, SegmentRef, StoreResult, StoredEvent, error::internal,
};

pub(super) const SEGMENT_COLS: &str =
    "id, project_id, path, rows, bytes, min_timestamp, max_timestamp";

pub(super) fn segment_from_row(r: &Row) -> rusqlite::Result<SegmentRef> {
    Ok(SegmentRef {
        id: r.get(0)?,
        project: ProjectId(r.get(1)?),
        path: r.get(2)?,
        rows: r.get::<_, i64>(3)?.max(0) as u64,
        bytes: r.get::<_, i64>(4)?.max(0) as u64,
        min_timestamp_us: r.get(5)?,
        max_timestamp_us: r.get(6)?,
    })
}

pub(super) const EVENT_COLS: &str =
    "uuid, event, distinct_id, timestamp, created_at, properties, group_keys";

/// An `events` row in [`EVENT_COLS`] order.
pub(super) fn event_from_row(r: &Row) -> StoreResult<StoredEvent> {
    let uuid: Vec<u8> = r.get(0)?;
    let keys: String = r.get(6)?;
    Ok(StoredEvent {
        uuid: uuid::Uuid::from_slice(&uuid).map_err(internal("a stored uuid"))?,
        event: r.get(1)?,
        distinct_id: r.get(2)?,
        timestamp_us: r.get(3)?,
        created_at_us: r.get(4)?,
        properties: r.get(5)?,
        group_keys: serde_json::from_str(&keys).map_err(internal("stored group keys"))?,
    })
}

fn snapshot(c: &Connection, project: ProjectId, since: i64) -> StoreResult<EventsSnapshot> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {SEGMENT_COLS} FROM event_segments
         WHERE project_id = ?1 AND max_timestamp >= ?2 ORDER BY min_timestamp, id"
    ))?;
    let segments = st
        .query_map(params![project.0, since], segment_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut st = c.prepare_cached(&format!(
        "SELECT {EVENT_COLS} FROM events WHERE project_id = ?1 AND timestamp >= ?2"
    ))?;
    let mut rows = st.query(params![project.0, since])?;
    let mut hot = Vec::new();
    while let Some(r) = rows.next()? {
        hot.push(event_from_row(r)?);
    }
    Ok(EventsSnapshot { segments, hot })
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn events_snapshot(
        &self,
        project: ProjectId,
        since_us: Option<i64>,
    ) -> StoreResult<EventsSnapshot> {
        let since = since_us.unwrap_or(i64::MIN);
        self.readers
            .read(move |c| {
                // Deferred: the snapshot is taken at the first read and held to the end.
                c.execute_batch("BEGIN")?;
                let out = snapshot(c, project, since);
                if c.execute_batch("COMMIT").is_err() {
                    // A pooled connection must never keep a transaction open.
                    let _ = c.execute_batch("ROLLBACK");
                }
                out
            })
            .await
    }
}
