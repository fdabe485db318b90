//! The segment catalog: the analytics snapshot (live segments and the hot tail, consistently),
//! atomic commits that move events out of the row store, deduplication of moved events, the one
//! compactor, and the recorded data dir.
use std::sync::Arc;

use groupd_core::{GroupTypeIndex, ProjectId, capture::CaptureEvent};
use serde_json::json;

use super::{SEC, T0, event, found, identify, obj, project};
use crate::{
    DAY_US, IngestBatch, IngestSummary, MovedKey, MovingEvent, NewSegment, Partition,
    SegmentCommit, Store, StoreError, StoredEvent,
};

async fn ingest(s: &Arc<dyn Store>, p: ProjectId, events: Vec<CaptureEvent>) -> IngestSummary {
    s.ingest(
        p,
        IngestBatch {
            source: Default::default(),
            events,
            max_group_types: 5,
            now_us: T0,
        },
    )
    .await
    .unwrap()
}

/// Three events of T0's day (one with a group) and one of the next day.
fn three_and_one() -> Vec<CaptureEvent> {
    vec![
        event(
            "a",
            uuid::Uuid::new_v4(),
            Some(T0 + 30 * SEC),
            &[("company", "acme")],
        ),
        event("b", uuid::Uuid::new_v4(), Some(T0 + 10 * SEC), &[]),
        event("c", uuid::Uuid::new_v4(), Some(T0 + 20 * SEC), &[]),
        event("d", uuid::Uuid::new_v4(), Some(T0 + DAY_US + SEC), &[]),
    ]
}

/// Every event received so far is older than this.
const LATER: i64 = T0 + 2 * DAY_US;

fn day0(p: ProjectId) -> Partition {
    Partition::of(p, T0)
}

/// The segment of `events` (as if written to `path`), moving them.
fn commit_of(
    p: ProjectId,
    path: &str,
    events: &[MovingEvent],
    replaces: Vec<i64>,
) -> SegmentCommit {
    let ts = events.iter().map(|m| m.event.timestamp_us);
    SegmentCommit {
        segment: NewSegment {
            partition: Partition::of(p, events.first().map_or(T0, |m| m.event.timestamp_us)),
            path: path.into(),
            rows: events.len() as u64,
            bytes: 1000,
            min_timestamp_us: ts.clone().min().unwrap_or(T0),
            max_timestamp_us: ts.max().unwrap_or(T0),
        },
        moved: events
            .iter()
            .map(|m| MovedKey {
                sent_ts: m.sent_ts,
                uuid: m.event.uuid,
                created_at_us: m.event.created_at_us,
            })
            .collect(),
        replaces,
        now_us: LATER,
    }
}

fn names(hot: &[StoredEvent]) -> Vec<String> {
    let mut v: Vec<String> = hot.iter().map(|e| e.event.clone()).collect();
    v.sort();
    v
}

pub async fn the_hot_tail_is_every_stored_event(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let events = three_and_one();
    ingest(&s, p, events.clone()).await;
    let snap = s.events_snapshot(p, None).await.unwrap();
    assert!(snap.segments.is_empty());
    assert_eq!(names(&snap.hot), ["a", "b", "c", "d"]);
    let a = snap.hot.iter().find(|e| e.event == "a").unwrap();
    assert_eq!(a.uuid, events[0].uuid);
    assert_eq!(a.distinct_id, "d1");
    assert_eq!(
        (a.timestamp_us, a.created_at_us),
        (T0 + 30 * SEC, T0 + DAY_US)
    );
    assert_eq!(a.group_keys, ["acme"]);
    let props: serde_json::Value = serde_json::from_str(&a.properties).unwrap();
    assert_eq!(props["$lib"], json!("test"));
    // Another project's events stay out; the hint leaves out earlier events (it may not drop
    // later ones).
    let q = project(&s).await;
    assert!(s.events_snapshot(q, None).await.unwrap().hot.is_empty());
    let since = s.events_snapshot(p, Some(T0 + DAY_US)).await.unwrap();
    assert!(names(&since.hot).contains(&"d".to_owned()));
}

pub async fn events_to_move_are_one_partition_by_time(s: Arc<dyn Store>) {
    let p = project(&s).await;
    ingest(&s, p, three_and_one()).await;
    let parts = s.hot_partitions(LATER).await.unwrap();
    let mine: Vec<_> = parts
        .iter()
        .filter(|h| h.partition.project == p)
        .map(|h| (h.partition.day - day0(p).day, h.rows))
        .collect();
    assert_eq!(mine, [(0, 3), (1, 1)]);
    // Received at T0 + 1 day: not yet old enough before it.
    assert!(s.hot_partitions(T0 + DAY_US).await.unwrap().is_empty());
    let moving = s.events_to_move(day0(p), LATER, 10).await.unwrap();
    let order: Vec<_> = moving.iter().map(|m| m.event.event.as_str()).collect();
    assert_eq!(order, ["b", "c", "a"]);
    assert_eq!(s.events_to_move(day0(p), LATER, 2).await.unwrap().len(), 2);
}

pub async fn a_day_before_1970_is_its_own_partition(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let mut ev = event("old", uuid::Uuid::new_v4(), Some(T0), &[]);
    ev.timestamp_us = -1;
    ingest(&s, p, vec![ev]).await;
    let parts = s.hot_partitions(LATER).await.unwrap();
    let part = parts
        .iter()
        .find(|h| h.partition.project == p)
        .unwrap()
        .partition;
    assert_eq!(part.day, -1);
    assert_eq!(s.events_to_move(part, LATER, 10).await.unwrap().len(), 1);
}

pub async fn a_commit_moves_events_into_the_segment(s: Arc<dyn Store>) {
    let p = project(&s).await;
    ingest(&s, p, three_and_one()).await;
    let moving = s.events_to_move(day0(p), LATER, 2).await.unwrap();
    let seg = s
        .commit_segment(commit_of(p, "p/1.parquet", &moving, vec![]))
        .await
        .unwrap();
    assert_eq!((seg.rows, seg.project), (2, p));
    assert_eq!(
        (seg.min_timestamp_us, seg.max_timestamp_us),
        (T0 + 10 * SEC, T0 + 20 * SEC)
    );
    let snap = s.events_snapshot(p, None).await.unwrap();
    assert_eq!(snap.segments, std::slice::from_ref(&seg));
    assert_eq!(names(&snap.hot), ["a", "d"]);
    // The hint: a segment ending before `since` may be left out, one reaching it may not.
    let since = s.events_snapshot(p, Some(T0 + 20 * SEC)).await.unwrap();
    assert_eq!(since.segments, [seg]);
    assert!(names(&since.hot).contains(&"a".to_owned()));
    assert_eq!(s.segment_paths().await.unwrap(), ["p/1.parquet"]);
    assert_eq!(s.partition_segments(day0(p)).await.unwrap().len(), 1);
    assert!(
        s.events_snapshot(project(&s).await, None)
            .await
            .unwrap()
            .segments
            .is_empty()
    );
}

pub async fn a_commit_of_an_event_already_gone_changes_nothing(s: Arc<dyn Store>) {
    let p = project(&s).await;
    ingest(&s, p, three_and_one()).await;
    let mut moving = s.events_to_move(day0(p), LATER, 10).await.unwrap();
    let first = s
        .commit_segment(commit_of(p, "p/1.parquet", &moving[..1], vec![]))
        .await
        .unwrap();
    // The first event moved already: the whole second commit is refused.
    let again = s
        .commit_segment(commit_of(p, "p/2.parquet", &moving, vec![]))
        .await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    // A merge replacing a segment that is no longer listed is refused the same way.
    moving.remove(0);
    let gone = s
        .commit_segment(commit_of(p, "p/3.parquet", &moving, vec![first.id + 1000]))
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let snap = s.events_snapshot(p, None).await.unwrap();
    assert_eq!(snap.segments, [first]);
    assert_eq!(names(&snap.hot), ["a", "c", "d"]);
}

pub async fn a_merge_replaces_its_segments_at_once(s: Arc<dyn Store>) {
    let p = project(&s).await;
    ingest(&s, p, three_and_one()).await;
    let moving = s.events_to_move(day0(p), LATER, 10).await.unwrap();
    let one = s
        .commit_segment(commit_of(p, "p/1.parquet", &moving[..1], vec![]))
        .await
        .unwrap();
    let two = s
        .commit_segment(commit_of(p, "p/2.parquet", &moving[1..], vec![]))
        .await
        .unwrap();
    let mut merged = commit_of(p, "p/3.parquet", &moving, vec![one.id, two.id]);
    merged.moved.clear();
    let three = s.commit_segment(merged).await.unwrap();
    assert_eq!(three.rows, 3);
    let snap = s.events_snapshot(p, None).await.unwrap();
    assert_eq!(snap.segments, [three]);
    assert_eq!(names(&snap.hot), ["d"]);
}

pub async fn fragmented_partitions_hold_two_small_segments(s: Arc<dyn Store>) {
    let p = project(&s).await;
    ingest(&s, p, three_and_one()).await;
    let moving = s.events_to_move(day0(p), LATER, 10).await.unwrap();
    assert!(s.fragmented_partitions(10).await.unwrap().is_empty());
    let one = s
        .commit_segment(commit_of(p, "p/1.parquet", &moving[..1], vec![]))
        .await
        .unwrap();
    // One segment is not fragmented.
    assert!(s.fragmented_partitions(10).await.unwrap().is_empty());
    s.commit_segment(commit_of(p, "p/2.parquet", &moving[1..], vec![]))
        .await
        .unwrap();
    assert_eq!(s.fragmented_partitions(10).await.unwrap(), [day0(p)]);
    // Segments of `below_rows` events or more do not count: 1 and 2 events, below 2.
    assert!(s.fragmented_partitions(2).await.unwrap().is_empty());
    let mut merged = commit_of(p, "p/3.parquet", &moving, vec![one.id]);
    merged.moved.clear();
    merged
        .replaces
        .push(s.partition_segments(day0(p)).await.unwrap()[1].id);
    s.commit_segment(merged).await.unwrap();
    assert!(s.fragmented_partitions(10).await.unwrap().is_empty());
}

pub async fn a_moved_event_is_still_a_retry(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let mut gi = identify(
        "company",
        "acme",
        T0 + 5 * SEC,
        json!({"name": "Acme"}),
        json!({}),
        &[],
    );
    gi.received_at_us = T0;
    let mut events = three_and_one();
    events.push(gi.clone());
    ingest(&s, p, events.clone()).await;
    let moving = s.events_to_move(day0(p), LATER, 10).await.unwrap();
    assert_eq!(moving.len(), 4);
    s.commit_segment(commit_of(p, "p/1.parquet", &moving, vec![]))
        .await
        .unwrap();
    // The whole request again, its identify changed: every moved event is a retry, the
    // identify is not applied again; the event of the next day is still stored.
    let mut retry = events.clone();
    if let Some(Ok(g)) = &mut retry.last_mut().unwrap().group_identify {
        g.set = obj(json!({"name": "Changed"}));
    }
    let sum = ingest(&s, p, retry).await;
    assert_eq!((sum.stored, sum.duplicates, sum.group_updates), (0, 5, 0));
    let g = found(&s, p, GroupTypeIndex(0), "acme").await;
    assert_eq!(g.properties(), obj(json!({"name": "Acme"})));
    assert_eq!(names(&s.events_snapshot(p, None).await.unwrap().hot), ["d"]);
    // Through the path that assigns a new type too.
    let mut typed = events[1].clone();
    typed.groups = vec![("team".into(), "t".into())];
    let sum = ingest(&s, p, vec![typed]).await;
    assert_eq!((sum.stored, sum.duplicates), (0, 1));
    // Same uuid at another client time: a new event.
    let mut other = events[1].clone();
    other.client_timestamp = Some("2026-05-01T00:00:11.000000Z".into());
    assert_eq!(ingest(&s, p, vec![other]).await.stored, 1);
}

pub async fn moved_keys_are_forgotten_past_the_horizon(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let events = three_and_one();
    ingest(&s, p, events.clone()).await;
    let moving = s.events_to_move(day0(p), LATER, 10).await.unwrap();
    s.commit_segment(commit_of(p, "p/1.parquet", &moving, vec![]))
        .await
        .unwrap();
    // Received at T0 + 1 day: still remembered at that horizon, forgotten after it.
    assert_eq!(s.prune_moved_keys(T0 + DAY_US).await.unwrap(), 0);
    assert_eq!(ingest(&s, p, events.clone()).await.stored, 0);
    assert_eq!(s.prune_moved_keys(T0 + DAY_US + 1).await.unwrap(), 3);
    assert_eq!(ingest(&s, p, events).await.stored, 3);
}

pub async fn one_compactor_holds_the_lock(s: Arc<dyn Store>) {
    let lock = s
        .try_lock_compactor(T0)
        .await
        .unwrap()
        .expect("the lock is free");
    assert!(s.try_lock_compactor(T0).await.unwrap().is_none());
    lock.release().await;
    let again = s.try_lock_compactor(T0).await.unwrap();
    assert!(again.is_some());
    again.unwrap().release().await;
}

pub async fn the_first_data_dir_is_kept(s: Arc<dyn Store>) {
    assert!(!s.default_data_dir().0.is_empty());
    assert_eq!(s.claim_data_dir("/srv/a").await.unwrap(), "/srv/a");
    assert_eq!(s.claim_data_dir("s3://b/x").await.unwrap(), "/srv/a");
}
