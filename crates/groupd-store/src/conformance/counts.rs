//! The property counts behind `property_definitions` and `property_values`, and how every kind
//! of write keeps them: REST create, set, set_once and unset, capture set, set_once and unset
//! (several on one group in one request, and merges that change nothing), type deletion and the
//! reuse of its index.
use std::sync::Arc;

use groupd_core::{GroupTypeIndex, ProjectId, merge::PropOp};
use serde_json::json;

use super::{SEC, T0, assert_counts_match_groups, at, create, identify, new_type, project, update};
use crate::{IngestBatch, Store, ValuesQuery};

async fn defs(s: &Arc<dyn Store>, p: ProjectId) -> Vec<(GroupTypeIndex, String, i64)> {
    s.property_definitions(p)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.index, d.name, d.count))
        .collect()
}

async fn values(
    s: &Arc<dyn Store>,
    p: ProjectId,
    i: GroupTypeIndex,
    prop: &str,
    filter: Option<&str>,
) -> Vec<(String, i64)> {
    s.property_values(
        p,
        ValuesQuery {
            index: i,
            property: prop.to_owned(),
            value_contains: filter.map(str::to_owned),
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|v| (v.name, v.count))
    .collect()
}

fn d(i: GroupTypeIndex, name: &str, n: i64) -> (GroupTypeIndex, String, i64) {
    (i, name.to_owned(), n)
}

fn v(name: &str, n: i64) -> (String, i64) {
    (name.to_owned(), n)
}

/// Four `org` groups of assorted values and one `team` group.
async fn assorted(s: &Arc<dyn Store>) -> (ProjectId, GroupTypeIndex) {
    let p = project(s).await;
    let i = new_type(s, p, "org").await;
    let j = new_type(s, p, "team").await;
    for (k, props) in [
        ("1", json!({"plan": "pro", "seats": 3, "ok": true})),
        (
            "2",
            json!({"plan": "Pro", "seats": 3.5, "obj": {"b": 1, "a": [2]}}),
        ),
        ("3", json!({"plan": "pro", "seats": 100.0, "n": null})),
        ("4", json!({"seats": 3})),
    ] {
        create(s, p, i, k, props, T0).await.unwrap();
    }
    create(s, p, j, "t", json!({"z": 1}), T0).await.unwrap();
    (p, i)
}

pub async fn definitions_count_groups_per_name_per_type(s: Arc<dyn Store>) {
    let (p, i) = assorted(&s).await;
    let j = GroupTypeIndex(1);
    assert_eq!(
        defs(&s, p).await,
        [
            d(i, "seats", 4),
            d(i, "plan", 3),
            d(i, "n", 1),
            d(i, "obj", 1),
            d(i, "ok", 1),
            d(j, "z", 1),
        ]
    );
}

pub async fn values_count_groups_per_value_text(s: Arc<dyn Store>) {
    let (p, i) = assorted(&s).await;
    assert_eq!(
        values(&s, p, i, "plan", None).await,
        [v("pro", 2), v("Pro", 1)]
    );
    assert_eq!(
        values(&s, p, i, "plan", Some("PR")).await,
        [v("pro", 2), v("Pro", 1)]
    );
    assert_eq!(
        values(&s, p, i, "seats", None).await,
        [v("3", 2), v("100.0", 1), v("3.5", 1)]
    );
    assert_eq!(
        values(&s, p, i, "obj", None).await,
        [v(r#"{"b":1,"a":[2]}"#, 1)]
    );
    assert_eq!(values(&s, p, i, "ok", None).await, [v("true", 1)]);
    assert_eq!(values(&s, p, i, "n", None).await, [v("null", 1)]);
    assert!(values(&s, p, i, "missing", None).await.is_empty());
}

/// Three groups created, then REST sets, a set_once and an unset (some changing nothing).
async fn rest_written(s: &Arc<dyn Store>) -> (ProjectId, GroupTypeIndex, GroupTypeIndex) {
    let p = project(s).await;
    let org = new_type(s, p, "org").await;
    let team = new_type(s, p, "team").await;
    for (i, k, props) in [
        (org, "a", json!({"plan": "pro", "seats": 3, "tags": ["x"]})),
        (org, "b", json!({"plan": "pro"})),
        (team, "t", json!({"plan": "free", "seats": 3})),
    ] {
        create(s, p, i, k, props, T0).await.unwrap();
    }
    for (k, prop, op) in [
        ("b", "seats", PropOp::Set(json!(3))),
        ("a", "plan", PropOp::Set(json!("enterprise"))),
        ("a", "tags", PropOp::Unset),
        ("b", "plan", PropOp::SetOnce(json!("ignored"))),
        ("a", "seats", PropOp::Set(json!(3.0))),
        ("a", "seats", PropOp::Set(json!(3.0))),
    ] {
        update(s, at(p, org, k), prop, op, T0 + SEC).await.unwrap();
    }
    (p, org, team)
}

pub async fn counts_follow_rest_writes(s: Arc<dyn Store>) {
    let (p, org, _) = rest_written(&s).await;
    assert_counts_match_groups(&s, p).await;
    assert_eq!(
        values(&s, p, org, "plan", None).await,
        [v("enterprise", 1), v("pro", 1)]
    );
}

pub async fn counts_follow_capture_writes(s: Arc<dyn Store>) {
    let (p, org, team) = rest_written(&s).await;
    s.ingest(
        p,
        IngestBatch {
            source: Default::default(),
            events: vec![
                identify(
                    "org",
                    "c",
                    T0 + 10 * SEC,
                    json!({"plan": "pro", "seats": 5}),
                    json!({"region": "eu"}),
                    &[],
                ),
                identify(
                    "org",
                    "c",
                    T0 + 11 * SEC,
                    json!({"plan": "free"}),
                    json!({}),
                    &[],
                ),
                identify(
                    "org",
                    "a",
                    T0 + 12 * SEC,
                    json!({"seats": 3.0}),
                    json!({}),
                    &["plan"],
                ),
                // Older than the REST set: changes nothing.
                identify("org", "b", T0 - SEC, json!({"plan": "old"}), json!({}), &[]),
                identify("site", "s", T0, json!({"plan": "pro"}), json!({}), &[]),
            ],
            max_group_types: 5,
            now_us: T0 + 20 * SEC,
        },
    )
    .await
    .unwrap();
    s.ingest(
        p,
        IngestBatch {
            source: Default::default(),
            events: vec![identify(
                "org",
                "d",
                T0,
                json!({}),
                json!({"plan": "pro"}),
                &[],
            )],
            max_group_types: 5,
            now_us: T0 + 20 * SEC,
        },
    )
    .await
    .unwrap();
    let site = GroupTypeIndex(2);
    assert_eq!(
        defs(&s, p).await,
        [
            d(org, "plan", 3),
            d(org, "seats", 3),
            d(org, "region", 1),
            d(team, "plan", 1),
            d(team, "seats", 1),
            d(site, "plan", 1),
        ]
    );
    assert_eq!(
        values(&s, p, org, "plan", None).await,
        [v("pro", 2), v("free", 1)]
    );
    assert_eq!(
        values(&s, p, org, "plan", Some("R")).await,
        [v("pro", 2), v("free", 1)]
    );
    assert_eq!(values(&s, p, org, "plan", Some("fR")).await, [v("free", 1)]);
    assert_eq!(
        values(&s, p, org, "seats", None).await,
        [v("3", 1), v("3.0", 1), v("5", 1)]
    );
    assert!(values(&s, p, org, "tags", None).await.is_empty());
    assert_counts_match_groups(&s, p).await;
}

pub async fn a_deleted_types_counts_go_with_it(s: Arc<dyn Store>) {
    let (p, _, team) = rest_written(&s).await;
    s.delete_group_type(p, team).await.unwrap();
    assert!(defs(&s, p).await.iter().all(|(i, _, _)| *i != team));
    assert!(values(&s, p, team, "plan", None).await.is_empty());
    // A new type at its index starts from nothing.
    assert_eq!(new_type(&s, p, "team2").await, team);
    create(&s, p, team, "t", json!({"z": 1}), T0).await.unwrap();
    assert_eq!(
        defs(&s, p)
            .await
            .into_iter()
            .filter(|x| x.0 == team)
            .collect::<Vec<_>>(),
        [d(team, "z", 1)]
    );
    assert_counts_match_groups(&s, p).await;
}

pub async fn values_show_the_top_20_ties_in_byte_order(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let org = new_type(&s, p, "org").await;
    // More distinct values than are shown.
    for n in 0..25 {
        create(
            &s,
            p,
            org,
            &format!("many{n}"),
            json!({"n": format!("v{:02}", 24 - n), "even": n % 2 == 0}),
            T0,
        )
        .await
        .unwrap();
    }
    let shown = values(&s, p, org, "n", None).await;
    assert_eq!(shown.len(), 20);
    assert_eq!(shown[0], v("v00", 1));
    assert_eq!(shown[19], v("v19", 1));
    assert_eq!(values(&s, p, org, "n", Some("V2")).await.len(), 5);
    assert_eq!(
        values(&s, p, org, "even", None).await,
        [v("true", 13), v("false", 12)]
    );
    assert_counts_match_groups(&s, p).await;
}

pub async fn the_value_filter_lower_cases_by_unicode_rules(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let org = new_type(&s, p, "org").await;
    // İ is "i̇" (two characters) in lower case, K (Kelvin) "k".
    for (k, city) in [("c1", "İstanbul"), ("c2", "École \u{212A}"), ("c3", "Kiel")] {
        create(&s, p, org, k, json!({ "city": city }), T0)
            .await
            .unwrap();
    }
    let cities = |f: &'static str| {
        let s = s.clone();
        async move {
            values(&s, p, org, "city", Some(f))
                .await
                .into_iter()
                .map(|x| x.0)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(cities("I").await, ["Kiel", "İstanbul"]);
    assert!(cities("is").await.is_empty());
    assert_eq!(cities("i\u{307}s").await, ["İstanbul"]);
    assert_eq!(cities("K").await, ["Kiel", "École \u{212A}"]);
    assert_eq!(cities("éCOLE").await, ["École \u{212A}"]);
}
