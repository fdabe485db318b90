//! The parity reads: events by time window, usage metrics, typed property names, reused indexes.
use std::sync::Arc;

use groupd_core::{GroupTypeIndex, ProjectId, groups::PropertyType};
use serde_json::json;

use super::{SEC, T0, create, event, new_type, project};
use crate::{
    ConflictOn, EventWindow, EventsOf, IngestBatch, Store, StoreError, TypeRef, TypedPropertyQuery,
    UsageMetric,
};

async fn ingest(s: &Arc<dyn Store>, p: ProjectId, events: Vec<groupd_core::capture::CaptureEvent>) {
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
    .unwrap();
}

pub async fn window_reads_are_bounded_by_time_and_narrowed(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let other = project(&s).await;
    let mut events = vec![];
    for (i, groups) in [
        [("company", "acme"), ("project", "p1")],
        [("company", "globex"), ("project", "acme")],
        [("company", "acme"), ("project", "p2")],
    ]
    .iter()
    .enumerate()
    {
        events.push(event(
            "e",
            uuid::Uuid::new_v4(),
            Some(T0 + i as i64 * SEC),
            groups,
        ));
    }
    ingest(&s, p, events.clone()).await;
    ingest(&s, other, events).await;
    let w = |since_us, until_us, only| EventWindow {
        project: p,
        since_us,
        until_us,
        only,
    };
    let all = s.window_events(w(T0, None, None)).await.unwrap();
    let times: Vec<i64> = all.iter().map(|e| e.timestamp_us).collect();
    assert_eq!(
        times,
        [T0, T0 + SEC, T0 + 2 * SEC],
        "oldest first, one project only"
    );
    assert_eq!(all[0].group_keys, ["acme", "p1"]);
    assert_eq!(all[0].group_key(GroupTypeIndex(1)), "p1");
    assert_eq!(all[0].group_key(GroupTypeIndex(4)), "");
    assert_eq!(all[0].distinct_id, "d1");
    let props: serde_json::Value = serde_json::from_str(&all[0].properties).unwrap();
    assert_eq!(props["$lib"], "test");
    let inner = s
        .window_events(w(T0 + 1, Some(T0 + SEC), None))
        .await
        .unwrap();
    assert_eq!(inner.len(), 1, "both bounds inclusive: {inner:?}");
    let acme = s
        .window_events(w(
            T0,
            None,
            Some(EventsOf::Group(GroupTypeIndex(0), "acme".into())),
        ))
        .await
        .unwrap();
    let exact: Vec<i64> = acme
        .iter()
        .filter(|e| e.group_key(GroupTypeIndex(0)) == "acme")
        .map(|e| e.timestamp_us)
        .collect();
    assert_eq!(
        exact,
        [T0, T0 + 2 * SEC],
        "every event of the group (maybe more)"
    );
    let none = s
        .window_events(w(T0, None, Some(EventsOf::DistinctId("d2".into()))))
        .await
        .unwrap();
    assert!(none.is_empty());
    let mine = s
        .window_events(w(T0, None, Some(EventsOf::DistinctId("d1".into()))))
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
}

fn metric(p: ProjectId, name: &str, created_at: i64) -> UsageMetric {
    UsageMetric {
        id: uuid::Uuid::now_v7(),
        project: p,
        index: GroupTypeIndex(0),
        name: name.into(),
        format: "numeric".into(),
        interval: 7,
        display: "number".into(),
        filters: json!({"events": [{"id": "x", "properties": []}], "b": 1, "a": 2}),
        math: "count".into(),
        math_property: None,
        created_at,
    }
}

pub async fn metrics_are_stored_listed_updated_and_deleted(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let t = TypeRef {
        project: p,
        index: GroupTypeIndex(0),
    };
    let b = s.create_usage_metric(metric(p, "b", T0 + 1)).await.unwrap();
    let a = s.create_usage_metric(metric(p, "a", T0)).await.unwrap();
    assert_eq!(s.get_usage_metric(t, a.id).await.unwrap(), Some(a.clone()));
    let names: Vec<String> = s
        .list_usage_metrics(t)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["a", "b"], "by created_at");
    assert!(matches!(
        s.create_usage_metric(metric(p, "a", T0)).await,
        Err(StoreError::Conflict(ConflictOn::MetricName))
    ));
    let mut changed = b.clone();
    changed.name = "a".into();
    assert!(matches!(
        s.update_usage_metric(changed.clone()).await,
        Err(StoreError::Conflict(ConflictOn::MetricName))
    ));
    changed.name = "c".into();
    changed.math = "sum".into();
    changed.math_property = Some("amount".into());
    changed.created_at = 0;
    let got = s.update_usage_metric(changed).await.unwrap();
    assert_eq!(
        (
            got.name.as_str(),
            got.math_property.as_deref(),
            got.created_at
        ),
        ("c", Some("amount"), T0 + 1)
    );
    assert_eq!(
        serde_json::to_string(&got.filters).unwrap(),
        r#"{"events":[{"id":"x","properties":[]}],"b":1,"a":2}"#,
        "key order kept"
    );
    let elsewhere = TypeRef {
        project: project(&s).await,
        index: t.index,
    };
    assert_eq!(s.get_usage_metric(elsewhere, a.id).await.unwrap(), None);
    assert!(matches!(
        s.delete_usage_metric(elsewhere, a.id).await,
        Err(StoreError::NotFound)
    ));
    s.delete_usage_metric(t, a.id).await.unwrap();
    assert!(matches!(
        s.delete_usage_metric(t, a.id).await,
        Err(StoreError::NotFound)
    ));
    let mut gone = a;
    gone.name = "z".into();
    assert!(matches!(
        s.update_usage_metric(gone).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn deleting_a_type_takes_its_metrics_and_marks_the_index_reused(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let i = new_type(&s, p, "a").await;
    new_type(&s, p, "b").await;
    let t = TypeRef {
        project: p,
        index: i,
    };
    s.create_usage_metric(metric(p, "m", T0)).await.unwrap();
    assert!(s.reused_type_indexes(p).await.unwrap().is_empty());
    s.delete_group_type(p, i).await.unwrap();
    assert!(s.list_usage_metrics(t).await.unwrap().is_empty());
    assert_eq!(s.reused_type_indexes(p).await.unwrap(), [i]);
    new_type(&s, p, "c").await;
    s.delete_group_type(p, i).await.unwrap();
    assert_eq!(s.reused_type_indexes(p).await.unwrap(), [i], "once");
    assert!(
        s.reused_type_indexes(project(&s).await)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn property_types_come_from_the_first_typed_value(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let i = new_type(&s, p, "company").await;
    create(
        &s,
        p,
        i,
        "a",
        json!({"n": null, "x": 1, "flag": "True", "at": "2026-05-01T00:00:00Z"}),
        T0,
    )
    .await
    .unwrap();
    create(
        &s,
        p,
        i,
        "b",
        json!({"n": "text", "x": "one", "Zed": [1]}),
        T0,
    )
    .await
    .unwrap();
    let mut batch = vec![super::identify(
        "company",
        "c",
        T0,
        json!({"cap": false}),
        json!({}),
        &[],
    )];
    batch[0].uuid = uuid::Uuid::new_v4();
    ingest(&s, p, batch).await;
    let q = |search: Option<&str>, offset, limit| TypedPropertyQuery {
        index: i,
        search: search.map(str::to_owned),
        offset,
        limit,
    };
    let (rows, total) = s.typed_properties(p, q(None, 0, 100)).await.unwrap();
    let got: Vec<(String, Option<PropertyType>)> = rows
        .into_iter()
        .map(|r| (r.name, r.property_type))
        .collect();
    use PropertyType::{Boolean, DateTime, Numeric};
    assert_eq!(
        got,
        [
            ("Zed".to_owned(), None),
            ("at".to_owned(), Some(DateTime)),
            ("cap".to_owned(), Some(Boolean)),
            ("flag".to_owned(), Some(Boolean)),
            ("n".to_owned(), Some(PropertyType::String)),
            ("x".to_owned(), Some(Numeric)),
        ],
        "byte order; a null first leaves the type to the next value"
    );
    assert_eq!(total, 6);
    let (rows, total) = s.typed_properties(p, q(Some("A"), 1, 1)).await.unwrap();
    assert_eq!(
        (rows.len(), rows[0].name.as_str(), total),
        (1, "cap", 3),
        "at, cap, flag"
    );
    let (rows, total) = s
        .typed_properties(
            p,
            TypedPropertyQuery {
                index: GroupTypeIndex(3),
                ..q(None, 0, 10)
            },
        )
        .await
        .unwrap();
    assert!(rows.is_empty() && total == 0);
}
