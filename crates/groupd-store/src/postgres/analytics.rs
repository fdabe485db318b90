//! The analytics engine's read on PostgreSQL: the live segments and the hot tail of `events` in
//! one REPEATABLE READ, READ ONLY transaction, so a compaction committing meanwhile is seen
//! entirely or not at all. A retried event that raced the compaction of its original into the
//! row store (its key checked before the compaction committed) is left out: its key is moved.
use async_trait::async_trait;
use groupd_core::ProjectId;
use tokio_postgres::{IsolationLevel, Row};

use super::{PgStore, values::Ts};
use crate::{AnalyticsStore, EventsSnapshot, SegmentRef, StoreResult, StoredEvent};

pub(super) const SEGMENT_COLS: &str =
    "id, project_id, path, rows, bytes, min_timestamp, max_timestamp";

pub(super) fn segment_from_row(r: &Row) -> SegmentRef {
    SegmentRef {
        id: r.get(0),
        project: ProjectId(r.get(1)),
        path: r.get(2),
        rows: r.get::<_, i64>(3).max(0) as u64,
        bytes: r.get::<_, i64>(4).max(0) as u64,
        min_timestamp_us: r.get::<_, Ts>(5).0,
        max_timestamp_us: r.get::<_, Ts>(6).0,
    }
}

/// The columns of [`event_from_row`], of `events e`.
pub(super) const EVENT_COLS: &str = "e.uuid, e.event, e.distinct_id, e.timestamp, e.created_at, \
                                     e.properties::text, e.group_keys";

/// Leaves out a row whose key is moved (see the module docs); `$1` is the project.
pub(super) const NOT_MOVED: &str = "NOT EXISTS (SELECT 1 FROM moved_event_keys k
     WHERE k.project_id = $1 AND k.sent_ts = e.sent_ts AND k.uuid = e.uuid)";

pub(super) fn event_from_row(r: &Row) -> StoredEvent {
    StoredEvent {
        uuid: r.get(0),
        event: r.get(1),
        distinct_id: r.get(2),
        timestamp_us: r.get::<_, Ts>(3).0,
        created_at_us: r.get::<_, Ts>(4).0,
        properties: r.get(5),
        group_keys: r.get(6),
    }
}

#[async_trait]
impl AnalyticsStore for PgStore {
    async fn events_snapshot(
        &self,
        project: ProjectId,
        since_us: Option<i64>,
    ) -> StoreResult<EventsSnapshot> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let since = since_us.map(Ts);
        let st = tx
            .prepare_cached(&format!(
                "SELECT {SEGMENT_COLS} FROM event_segments
                 WHERE project_id = $1 AND ($2::timestamptz IS NULL OR max_timestamp >= $2)
                 ORDER BY min_timestamp, id"
            ))
            .await?;
        let segments = tx
            .query(&st, &[&project.0, &since])
            .await?
            .iter()
            .map(segment_from_row)
            .collect();
        let st = tx
            .prepare_cached(&format!(
                "SELECT {EVENT_COLS} FROM events e
                 WHERE e.project_id = $1 AND ($2::timestamptz IS NULL OR e.timestamp >= $2)
                   AND {NOT_MOVED}"
            ))
            .await?;
        let hot = tx
            .query(&st, &[&project.0, &since])
            .await?
            .iter()
            .map(event_from_row)
            .collect();
        tx.commit().await?;
        Ok(EventsSnapshot { segments, hot })
    }
}
