//! A time window of one project's events wherever they are — the row store or the segments —
//! for the reads that walk events themselves (related groups, usage metrics).
//!
//! While a project has no segments (compaction off, or not yet run) this is the row store's
//! indexed window read; the segment list is read before and after it, and when a compaction
//! committed in between, the read is redone from one consistent snapshot. With segments, the
//! snapshot's hot tail and the segments overlapping the window are read and filtered here.
use std::sync::Arc;

use datafusion::object_store::ObjectStore;
use groupd_core::ProjectId;
use groupd_store::{
    EventWindow, EventsOf, Store, StoreError, StoreResult, StoredEvent, WindowEvent,
};

use super::writer::{from_batch, read_segments};

fn in_project(paths: &[String], project: ProjectId) -> Vec<String> {
    let prefix = format!("p{}/", project.0);
    let mut own: Vec<String> = paths
        .iter()
        .filter(|p| p.starts_with(&prefix))
        .cloned()
        .collect();
    own.sort();
    own
}

fn matches(e: &StoredEvent, w: &EventWindow) -> bool {
    let in_time = e.timestamp_us >= w.since_us && w.until_us.is_none_or(|u| e.timestamp_us <= u);
    in_time
        && match &w.only {
            None => true,
            Some(EventsOf::DistinctId(d)) => e.distinct_id == *d,
            Some(EventsOf::Group(i, k)) => usize::try_from(i.0)
                .ok()
                .and_then(|i| e.group_keys.get(i))
                .is_some_and(|g| g == k),
        }
}

fn window_event(e: StoredEvent) -> WindowEvent {
    WindowEvent {
        event: e.event,
        distinct_id: e.distinct_id,
        timestamp_us: e.timestamp_us,
        created_at_us: e.created_at_us,
        properties: e.properties,
        group_keys: e.group_keys,
    }
}

/// The window's events, oldest first, from the row store and the segments together.
pub async fn window_events(
    store: &dyn Store,
    segments: &Arc<dyn ObjectStore>,
    w: EventWindow,
) -> StoreResult<Vec<WindowEvent>> {
    let before = in_project(&store.segment_paths().await?, w.project);
    if before.is_empty() {
        let rows = store.window_events(w.clone()).await?;
        if in_project(&store.segment_paths().await?, w.project).is_empty() {
            return Ok(rows);
        }
    }
    let snap = store.events_snapshot(w.project, Some(w.since_us)).await?;
    let paths: Vec<String> = snap
        .segments
        .iter()
        .filter(|s| {
            s.max_timestamp_us >= w.since_us && w.until_us.is_none_or(|u| s.min_timestamp_us <= u)
        })
        .map(|s| s.path.clone())
        .collect();
    let mut events: Vec<StoredEvent> = snap.hot.into_iter().filter(|e| matches(e, &w)).collect();
    if !paths.is_empty() {
        let read = async {
            let batch = read_segments(segments, &paths).await?;
            from_batch(&batch)
        };
        let stored = read.await.map_err(StoreError::Internal)?;
        events.extend(stored.into_iter().filter(|e| matches(e, &w)));
    }
    events.sort_by_key(|e| e.timestamp_us);
    Ok(events.into_iter().map(window_event).collect())
}
