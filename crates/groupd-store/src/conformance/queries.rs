//! The analytics engine's reads: the hot tail of events and the current groups, per project.
use std::sync::Arc;

use serde_json::json;

use super::{SEC, T0, event, identify, project};
use crate::{IngestBatch, Store};

pub async fn queries_read_events_and_groups(s: Arc<dyn Store>) {
    let p = project(&s).await;
    s.ingest(
        p,
        IngestBatch {
            source: Default::default(),
            events: vec![
                event(
                    "pageview",
                    uuid::Uuid::new_v4(),
                    Some(T0),
                    &[("org", "acme")],
                ),
                event("pageview", uuid::Uuid::new_v4(), Some(T0 + 1500), &[]),
                event(
                    "click",
                    uuid::Uuid::new_v4(),
                    Some(T0 + SEC),
                    &[("org", "acme")],
                ),
                identify(
                    "org",
                    "acme",
                    T0,
                    json!({"name": "Acme", "seats": 3}),
                    json!({}),
                    &[],
                ),
            ],
            max_group_types: 5,
            now_us: T0 + 10 * SEC,
        },
    )
    .await
    .unwrap();
    let snap = s.events_snapshot(p, None).await.unwrap();
    let mut seen: Vec<(String, i64, String)> = snap
        .hot
        .iter()
        .map(|e| {
            let key = e.group_keys.first().cloned().unwrap_or_default();
            (e.event.clone(), e.timestamp_us, key)
        })
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        &seen[1..],
        &[
            ("click".into(), T0 + SEC, "acme".into()),
            ("pageview".into(), T0, "acme".into()),
            ("pageview".into(), T0 + 1500, String::new()),
        ][..]
    );
    assert!(
        snap.hot
            .iter()
            .all(|e| e.created_at_us > 0 && e.timestamp_us >= T0)
    );
    assert!(snap.segments.is_empty());
    // The hint may cut events before it, never after.
    let later = s.events_snapshot(p, Some(T0 + SEC)).await.unwrap();
    assert!(later.hot.iter().any(|e| e.event == "click"));
    let groups = s.query_groups(p).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].key.as_str(), "acme");
    assert_eq!(groups[0].properties()["seats"], json!(3));
    let other = project(&s).await;
    assert!(s.query_groups(other).await.unwrap().is_empty());
    assert!(s.events_snapshot(other, None).await.unwrap().hot.is_empty());
}
