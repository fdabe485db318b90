//! Capture: idempotent storage of events, type assignment, warnings, and `$groupidentify` through
//! the group rule in any arrival order.
use std::sync::Arc;

use groupd_core::{
    Actor, GroupTypeIndex, ProjectId,
    capture::{CaptureEvent, InvalidGroupIdentify},
};
use serde_json::json;

use super::{SEC, T0, assert_counts_match_groups, event, found, identify, obj, project};
use crate::{ActivityPage, IngestBatch, IngestSummary, Store};

fn summary(s: &IngestSummary) -> (usize, usize, usize, usize) {
    (s.stored, s.duplicates, s.group_updates, s.warnings)
}

/// A first request: two event types' groups, an identify, an event with unusable group pairs,
/// and a retry of its first event. Returns the project, the summary, the identify and the first
/// event's uuid.
async fn first_request(s: &Arc<dyn Store>) -> (ProjectId, IngestSummary, CaptureEvent, uuid::Uuid) {
    let p = project(s).await;
    let u1 = uuid::Uuid::new_v4();
    let mut gi = identify(
        "company",
        "acme",
        T0,
        json!({"name": "Acme"}),
        json!({}),
        &[],
    );
    gi.uuid = uuid::Uuid::new_v4();
    let batch = vec![
        event("a", u1, Some(T0), &[("project", "p1"), ("company", "c1")]),
        gi.clone(),
        event("b", uuid::Uuid::new_v4(), None, &[("", "x"), ("team", "")]),
        // A retry inside the request.
        event("a", u1, Some(T0), &[("project", "p1")]),
    ];
    let sum = s
        .ingest(
            p,
            IngestBatch {
                source: Default::default(),
                events: batch,
                max_group_types: 5,
                now_us: T0,
            },
        )
        .await
        .unwrap();
    (p, sum, gi, u1)
}

pub async fn a_request_stores_each_new_event_once(s: Arc<dyn Store>) {
    let (_, sum, ..) = first_request(&s).await;
    assert_eq!(summary(&sum), (3, 1, 1, 0));
}

pub async fn types_are_assigned_in_order_of_first_sight(s: Arc<dyn Store>) {
    let (p, ..) = first_request(&s).await;
    let types: Vec<_> = s
        .list_group_types(p)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.index.0, t.group_type))
        .collect();
    assert_eq!(types, [(0, "project".into()), (1, "company".into())]);
}

pub async fn a_retried_event_changes_nothing(s: Arc<dyn Store>) {
    let (p, _, gi, u1) = first_request(&s).await;
    // Retried later: ignored, group changes included. Same uuid at another time: a new event.
    let mut changed = gi.clone();
    if let Some(Ok(g)) = &mut changed.group_identify {
        g.set = obj(json!({"name": "Changed"}));
    }
    let sum = s
        .ingest(
            p,
            IngestBatch {
                source: Default::default(),
                events: vec![changed, event("a", u1, Some(T0 + 1), &[])],
                max_group_types: 5,
                now_us: T0,
            },
        )
        .await
        .unwrap();
    assert_eq!((sum.stored, sum.duplicates, sum.group_updates), (1, 1, 0));
    let g = found(&s, p, GroupTypeIndex(1), "acme").await;
    assert_eq!(g.properties(), obj(json!({"name": "Acme"})));
}

pub async fn a_retried_identify_of_an_unknown_type_creates_no_type(s: Arc<dyn Store>) {
    let (p, _, gi, _) = first_request(&s).await;
    // A retried identify of a type not yet known does not create the type; the limit warns.
    let mut retry = identify("late", "x", T0, json!({}), json!({}), &[]);
    retry.uuid = gi.uuid;
    retry.client_timestamp = gi.client_timestamp.clone();
    let full = vec![
        retry,
        event(
            "c",
            uuid::Uuid::new_v4(),
            Some(T0),
            &[("t2", "k"), ("t3", "k"), ("t4", "k"), ("t5", "k")],
        ),
        identify("t6", "k", T0, json!({"a": 1}), json!({}), &[]),
    ];
    let sum = s
        .ingest(
            p,
            IngestBatch {
                source: Default::default(),
                events: full,
                max_group_types: 5,
                now_us: T0 + 5,
            },
        )
        .await
        .unwrap();
    assert_eq!(summary(&sum), (2, 1, 0, 2));
    let names: Vec<_> = s
        .list_group_types(p)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.group_type)
        .collect();
    assert_eq!(names, ["project", "company", "t2", "t3", "t4"]);
    let w = s.ingestion_warnings(p, 10).await.unwrap();
    let kinds: Vec<_> = w
        .iter()
        .map(|w| (w.kind.as_str(), w.details["group_type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("group_type_limit_reached", "t6"),
            ("group_type_limit_reached", "t5")
        ]
    );
    assert_eq!(w[0].details["max_group_types"], json!(5));
    assert_eq!(w[0].timestamp, T0 + 5);
}

pub async fn an_invalid_identify_is_stored_with_a_warning(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let mut bad = event("$groupidentify", uuid::Uuid::new_v4(), Some(T0), &[]);
    bad.group_identify = Some(Err(InvalidGroupIdentify {
        reason: "$group_key is missing or blank.",
        group_type: Some("company".into()),
        group_key: None,
    }));
    let sum = s
        .ingest(
            p,
            IngestBatch {
                source: Default::default(),
                events: vec![bad.clone()],
                max_group_types: 5,
                now_us: T0,
            },
        )
        .await
        .unwrap();
    assert_eq!((sum.stored, sum.warnings), (1, 1));
    let w = s.ingestion_warnings(p, 1).await.unwrap();
    assert_eq!(w[0].kind, "invalid_group_identify");
    assert_eq!(w[0].details["event_uuid"], json!(bad.uuid.to_string()));
    assert_eq!(
        w[0].details["reason"],
        json!("$group_key is missing or blank.")
    );
    // Its type is not created.
    assert!(s.list_group_types(p).await.unwrap().is_empty());
}

pub async fn warnings_belong_to_their_project(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let full: Vec<_> = (0..6)
        .map(|n| identify(&format!("t{n}"), "k", T0, json!({}), json!({}), &[]))
        .collect();
    s.ingest(
        p,
        IngestBatch {
            source: Default::default(),
            events: full,
            max_group_types: 5,
            now_us: T0,
        },
    )
    .await
    .unwrap();
    assert_eq!(s.ingestion_warnings(p, 10).await.unwrap().len(), 1);
    let q = project(&s).await;
    assert!(s.ingestion_warnings(q, 10).await.unwrap().is_empty());
}

/// Four identifies of one group, out of time order, sent in one request to `g` and one by one in
/// reverse to `h`.
async fn merged(s: &Arc<dyn Store>) -> (ProjectId, IngestSummary) {
    let p = project(s).await;
    let ops = vec![
        identify(
            "org",
            "g",
            T0 + 30 * SEC,
            json!({"plan": "late"}),
            json!({}),
            &[],
        ),
        identify(
            "org",
            "g",
            T0 + 10 * SEC,
            json!({"plan": "early", "seats": 1}),
            json!({"first": "b"}),
            &[],
        ),
        identify(
            "org",
            "g",
            T0 + 20 * SEC,
            json!({}),
            json!({"first": "a-later"}),
            &["seats"],
        ),
        identify(
            "org",
            "g",
            T0 + 5 * SEC,
            json!({"seats": 9}),
            json!({"first": "z-earliest"}),
            &[],
        ),
    ];
    let sum = s
        .ingest(
            p,
            IngestBatch {
                source: Default::default(),
                events: ops.clone(),
                max_group_types: 5,
                now_us: T0 + 100 * SEC,
            },
        )
        .await
        .unwrap();
    for ev in ops.iter().rev() {
        let mut ev = ev.clone();
        ev.uuid = uuid::Uuid::new_v4();
        if let Some(Ok(gi)) = &mut ev.group_identify {
            gi.group_key = "h".into();
        }
        s.ingest(
            p,
            IngestBatch {
                source: Default::default(),
                events: vec![ev],
                max_group_types: 5,
                now_us: T0 + 200 * SEC,
            },
        )
        .await
        .unwrap();
    }
    (p, sum)
}

pub async fn identifies_merge_the_same_in_any_order(s: Arc<dyn Store>) {
    let (p, sum) = merged(&s).await;
    assert_eq!(sum.group_updates, 4);
    let want = obj(json!({"plan": "late", "first": "z-earliest"}));
    for k in ["g", "h"] {
        let g = found(&s, p, GroupTypeIndex(0), k).await;
        let mut got: Vec<_> = g.properties().into_iter().collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let mut w: Vec<_> = want.clone().into_iter().collect();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, w, "group {k}");
        assert_eq!(g.created_at, T0 + 5 * SEC, "group {k}");
    }
}

pub async fn identify_activity_follows_the_merge(s: Arc<dyn Store>) {
    let (p, _) = merged(&s).await;
    let g = found(&s, p, GroupTypeIndex(0), "g").await;
    assert_eq!(g.updated_at, T0 + 100 * SEC);
    let (entries, _) = s
        .group_activity(
            p,
            ActivityPage {
                group_id: g.id,
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let kinds: Vec<_> = entries
        .iter()
        .rev()
        .map(|e| (e.activity.as_str(), e.detail["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("create_group", "plan"),
            ("create_property", "first"),
            ("create_property", "seats"),
            ("update_property", "seats"),
            ("update_property", "first"),
        ]
    );
    assert!(entries.iter().all(|e| e.actor == Actor::System));
}

pub async fn an_identify_with_no_properties_creates_the_group(s: Arc<dyn Store>) {
    let (p, _) = merged(&s).await;
    s.ingest(
        p,
        IngestBatch {
            source: Default::default(),
            events: vec![identify("org", "empty", T0, json!({}), json!({}), &[])],
            max_group_types: 5,
            now_us: T0,
        },
    )
    .await
    .unwrap();
    let g = found(&s, p, GroupTypeIndex(0), "empty").await;
    assert!(g.properties().is_empty());
    assert_eq!((g.created_at, g.updated_at), (T0, T0));
    assert_counts_match_groups(&s, p).await;
}
