//! The backend conformance suite: every check runs against any `Arc<dyn Store>`, so each backend
//! is held to the same results, errors, ordering and activity. [`conformance_tests!`] turns the
//! checks into `#[tokio::test]`s for one backend factory; this crate instantiates it for SQLite (a
//! temporary file) and PostgreSQL (a fresh database, see [`pg`]).
#![allow(missing_docs, clippy::missing_panics_doc)]

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, ProjectId, Scope, ScopeSet, SecretDigest,
    capture::{CaptureEvent, GroupIdentify, InvalidGroupIdentify},
    merge::PropOp,
};
use serde_json::{Map, Value, json};

use crate::{GroupListQuery, GroupTypeMetadataUpdate, NewApiKey, NewGroupType, Store, StoreError};

/// 2026-05-01T00:00:00Z in µs.
pub const T0: i64 = 1_777_593_600_000_000;
const SEC: i64 = 1_000_000;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn key(s: &str) -> GroupKey {
    GroupKey::parse(s).expect("valid key")
}

async fn project(s: &Arc<dyn Store>) -> ProjectId {
    ProjectId(s.create_project("p", None, T0).await.unwrap().id)
}

async fn new_type(s: &Arc<dyn Store>, p: ProjectId, name: &str) -> GroupTypeIndex {
    let t = s
        .create_group_type(
            p,
            NewGroupType {
                group_type: name.into(),
                name_singular: None,
                name_plural: None,
            },
            5,
            T0,
        )
        .await
        .unwrap();
    GroupTypeIndex(t.index)
}

/// A capture event as the capture stage hands it over.
pub fn event(
    name: &str,
    uuid: uuid::Uuid,
    ts: Option<i64>,
    groups: &[(&str, &str)],
) -> CaptureEvent {
    let t = ts.unwrap_or(T0 + 3600 * SEC);
    CaptureEvent {
        index: 0,
        uuid,
        client_timestamp: ts.map(|t| {
            let secs = t / SEC;
            let days = secs / 86_400;
            // Only T0's day and the next are used here.
            let rem = secs % 86_400;
            format!(
                "2026-05-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                1 + days - T0 / SEC / 86_400,
                rem / 3600,
                rem % 3600 / 60,
                rem % 60,
                t % SEC
            )
        }),
        event: name.into(),
        distinct_id: "d1".into(),
        timestamp_us: t,
        received_at_us: T0 + 86_400 * SEC,
        properties_json: r#"{"$lib":"test","nul":"a\u0000b"}"#.into(),
        groups: groups
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect(),
        process_person_profile: true,
        group_identify: None,
    }
}

/// A `$groupidentify` at event time `t`.
pub fn identify(
    group_type: &str,
    group_key: &str,
    t: i64,
    set: Value,
    set_once: Value,
    unset: &[&str],
) -> CaptureEvent {
    let mut ev = event("$groupidentify", uuid::Uuid::new_v4(), Some(t), &[]);
    ev.group_identify = Some(Ok(GroupIdentify {
        group_type: group_type.into(),
        group_key: group_key.into(),
        set: obj(set),
        set_once: obj(set_once),
        unset: unset.iter().map(|s| (*s).into()).collect(),
    }));
    ev
}

/// A property value as `property_values` shows it: strings bare, anything else as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks `property_definitions` and `property_values` (unfiltered, top 20) against counts made
/// from every group of every type of the project, as they are now.
pub async fn assert_counts_match_groups(s: &Arc<dyn Store>, p: ProjectId) {
    let mut names: BTreeMap<(i64, String), i64> = BTreeMap::new();
    let mut values: BTreeMap<(i64, String), BTreeMap<String, i64>> = BTreeMap::new();
    for t in s.list_group_types(p).await.unwrap() {
        let q = GroupListQuery {
            index: t.index,
            limit: 100_000,
            ..Default::default()
        };
        for g in s.list_groups(p, q).await.unwrap() {
            for (k, v) in g.properties() {
                *names.entry((t.index, k.clone())).or_default() += 1;
                *values
                    .entry((t.index, k))
                    .or_default()
                    .entry(value_text(&v))
                    .or_default() += 1;
            }
        }
    }
    let mut want: Vec<(i64, String, i64)> =
        names.into_iter().map(|((i, k), n)| (i, k, n)).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(&b.1)));
    let got: Vec<_> = s
        .property_definitions(p)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.index, d.name, d.count))
        .collect();
    assert_eq!(got, want, "property_definitions");
    for ((i, k), vals) in values {
        let mut want: Vec<(String, i64)> = vals.into_iter().collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        want.truncate(20);
        let got: Vec<_> = s
            .property_values(p, GroupTypeIndex(i), &k, None)
            .await
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.count))
            .collect();
        assert_eq!(got, want, "property_values of {k} (type {i})");
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

pub async fn projects(s: Arc<dyn Store>) {
    let a = s.create_project("a", Some("phc_a"), T0).await.unwrap();
    let b = s.create_project("b", None, T0 + 1).await.unwrap();
    assert!(b.api_token.starts_with("phc_"));
    assert!(matches!(
        s.create_project("c", Some("phc_a"), T0).await,
        Err(StoreError::Conflict("api_token"))
    ));
    let all = s.list_projects().await.unwrap();
    assert_eq!(all, vec![a.clone(), b.clone()]);
    assert_eq!(
        s.get_project(ProjectId(a.id)).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(s.get_project(ProjectId(9999)).await.unwrap(), None);
    assert_eq!(
        s.project_by_token("phc_a").await.unwrap().map(|p| p.id),
        Some(a.id)
    );
    assert_eq!(s.project_by_token("phc_zz").await.unwrap(), None);
    let renamed = s
        .rename_project(ProjectId(a.id), "A2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.created_at), ("A2", T0));
    assert_eq!(s.rename_project(ProjectId(9999), "x").await.unwrap(), None);
}

pub async fn api_keys(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let scopes = ScopeSet::from_scopes([Scope::parse("group:read").unwrap()]);
    let missing = s
        .create_api_key(
            NewApiKey {
                label: "k".into(),
                digest: SecretDigest::of("phx_x"),
                scopes: scopes.clone(),
                projects: Some(vec![p.0, 9999]),
            },
            T0,
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let k = s
        .create_api_key(
            NewApiKey {
                label: "k".into(),
                digest: SecretDigest::of("phx_y"),
                scopes: scopes.clone(),
                projects: Some(vec![p.0]),
            },
            T0,
        )
        .await
        .unwrap();
    let got = s
        .api_key_by_digest(&SecretDigest::of("phx_y"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.id, got.label.as_str(), got.projects.clone()),
        (k.id, "k", Some(vec![p.0]))
    );
    assert_eq!(got.scopes.names(), scopes.names());
    assert_eq!(got.created_at, T0);
    assert!(
        s.api_key_by_digest(&SecretDigest::of("phx_x"))
            .await
            .unwrap()
            .is_none()
    );
    let all = s
        .create_api_key(
            NewApiKey {
                label: "all".into(),
                digest: SecretDigest::of("phx_z"),
                scopes,
                projects: None,
            },
            T0,
        )
        .await
        .unwrap();
    let got = s
        .api_key_by_digest(&SecretDigest::of("phx_z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.id, got.projects), (all.id, None));
}

pub async fn group_types(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let nt = |name: &str| NewGroupType {
        group_type: name.into(),
        name_singular: Some(format!("{name} s")),
        name_plural: None,
    };
    assert_eq!(
        s.create_group_type(p, nt("a"), 3, T0).await.unwrap().index,
        0
    );
    assert_eq!(
        s.create_group_type(p, nt("b"), 3, T0).await.unwrap().index,
        1
    );
    assert!(matches!(
        s.create_group_type(p, nt("a"), 3, T0).await,
        Err(StoreError::GroupTypeExists)
    ));
    assert_eq!(
        s.create_group_type(p, nt("c"), 3, T0).await.unwrap().index,
        2
    );
    assert!(matches!(
        s.create_group_type(p, nt("d"), 3, T0).await,
        Err(StoreError::GroupTypeLimit(3))
    ));
    // Deleting frees the index, and the smallest free one is taken next.
    let g = s
        .create_group(
            p,
            GroupTypeIndex(0),
            key("k"),
            obj(json!({"x": 1})),
            Actor::System,
            T0,
        )
        .await
        .unwrap();
    s.update_group_property(
        p,
        GroupTypeIndex(0),
        key("k"),
        "x".into(),
        PropOp::Set(json!(2)),
        Actor::System,
        T0 + 1,
    )
    .await
    .unwrap();
    s.delete_group_type(p, GroupTypeIndex(0)).await.unwrap();
    assert!(matches!(
        s.delete_group_type(p, GroupTypeIndex(0)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(s.group_activity(p, g.id, 0, 10).await.unwrap().1, 0);
    assert_eq!(
        s.create_group_type(p, nt("e"), 3, T0).await.unwrap().index,
        0
    );
    assert!(
        s.find_group(p, GroupTypeIndex(0), &key("k"))
            .await
            .unwrap()
            .is_none()
    );

    let all = s
        .update_group_type_metadata(
            p,
            vec![GroupTypeMetadataUpdate {
                index: GroupTypeIndex(1),
                name_singular: Some(None),
                name_plural: Some(Some("Bees".into())),
            }],
        )
        .await
        .unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|t| (t.index, t.group_type.as_str()))
        .collect();
    assert_eq!(names, vec![(0, "e"), (1, "b"), (2, "c")]);
    assert_eq!(
        (all[1].name_singular.clone(), all[1].name_plural.clone()),
        (None, Some("Bees".into()))
    );
    assert_eq!(all[2].name_singular.as_deref(), Some("c s"));
    let bad = s
        .update_group_type_metadata(
            p,
            vec![
                GroupTypeMetadataUpdate {
                    index: GroupTypeIndex(2),
                    name_singular: Some(Some("changed".into())),
                    name_plural: None,
                },
                GroupTypeMetadataUpdate {
                    index: GroupTypeIndex(4),
                    name_singular: None,
                    name_plural: None,
                },
            ],
        )
        .await;
    assert!(matches!(
        bad,
        Err(StoreError::GroupTypeMissing(GroupTypeIndex(4)))
    ));
    // All or nothing.
    assert_eq!(
        s.list_group_types(p).await.unwrap()[2]
            .name_singular
            .as_deref(),
        Some("c s")
    );

    let t = s
        .set_default_columns(p, GroupTypeIndex(1), vec!["b".into(), "a".into()])
        .await
        .unwrap();
    assert_eq!(t.default_columns, Some(vec!["b".into(), "a".into()]));
    assert!(matches!(
        s.set_default_columns(p, GroupTypeIndex(4), vec![]).await,
        Err(StoreError::NotFound)
    ));
    // Other projects are separate.
    let q = project(&s).await;
    assert!(s.list_group_types(q).await.unwrap().is_empty());
}

pub async fn groups_create_update_and_activity(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let i = new_type(&s, p, "company").await;
    assert!(matches!(
        s.create_group(
            p,
            GroupTypeIndex(3),
            key("k"),
            Map::new(),
            Actor::System,
            T0
        )
        .await,
        Err(StoreError::GroupTypeMissing(GroupTypeIndex(3)))
    ));
    let props = obj(json!({"zeta": 1, "alpha": {"b": 2, "a": [1, "x"]}, "name": "Acme"}));
    let g = s
        .create_group(
            p,
            i,
            key("acme"),
            props.clone(),
            Actor::Key("lbl".into()),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        (g.index, g.key.as_str(), g.created_at, g.updated_at),
        (i.0, "acme", T0, T0)
    );
    assert!(matches!(
        s.create_group(p, i, key("acme"), Map::new(), Actor::System, T0)
            .await,
        Err(StoreError::GroupExists)
    ));
    let found = s.find_group(p, i, &key("acme")).await.unwrap().unwrap();
    // Key order as stored.
    let keys: Vec<_> = found.properties().keys().cloned().collect();
    assert_eq!(keys, ["zeta", "alpha", "name"]);
    assert_eq!(found, g);
    assert!(s.find_group(p, i, &key("ACME")).await.unwrap().is_none());

    let g2 = s
        .update_group_property(
            p,
            i,
            key("acme"),
            "name".into(),
            PropOp::Set(json!("Acme 2")),
            Actor::System,
            T0 + SEC,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            g2.updated_at,
            g2.created_at,
            g2.properties()["name"].clone()
        ),
        (T0 + SEC, T0, json!("Acme 2"))
    );
    // Same value again: no visible change, no activity, updated_at kept.
    let g3 = s
        .update_group_property(
            p,
            i,
            key("acme"),
            "name".into(),
            PropOp::Set(json!("Acme 2")),
            Actor::System,
            T0 + 2 * SEC,
        )
        .await
        .unwrap();
    assert_eq!(g3.updated_at, T0 + SEC);
    // An older set loses to the newer one.
    let g4 = s
        .update_group_property(
            p,
            i,
            key("acme"),
            "name".into(),
            PropOp::Set(json!("old")),
            Actor::System,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(g4.properties()["name"], json!("Acme 2"));
    s.update_group_property(
        p,
        i,
        key("acme"),
        "new".into(),
        PropOp::Set(json!(true)),
        Actor::Key("k2".into()),
        T0 + 3 * SEC,
    )
    .await
    .unwrap();
    s.update_group_property(
        p,
        i,
        key("acme"),
        "zeta".into(),
        PropOp::Unset,
        Actor::System,
        T0 + 4 * SEC,
    )
    .await
    .unwrap();
    assert!(matches!(
        s.update_group_property(p, i, key("acme"), "zeta".into(), PropOp::Unset, Actor::System, T0 + 5 * SEC).await,
        Err(StoreError::PropertyMissing(n)) if n == "zeta"
    ));
    assert!(matches!(
        s.update_group_property(
            p,
            i,
            key("nope"),
            "a".into(),
            PropOp::Set(json!(1)),
            Actor::System,
            T0
        )
        .await,
        Err(StoreError::NotFound)
    ));
    let g = s.find_group(p, i, &key("acme")).await.unwrap().unwrap();
    let keys: Vec<_> = g.properties().keys().cloned().collect();
    assert_eq!(keys, ["alpha", "name", "new"]);

    let (entries, total) = s.group_activity(p, g.id, 0, 100).await.unwrap();
    assert_eq!(total, 6);
    let kinds: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.activity.as_str(),
                e.detail["name"].as_str().unwrap(),
                e.detail["changes"][0]["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("update_property", "zeta", "deleted"),
            ("create_property", "new", "created"),
            ("update_property", "name", "changed"),
            ("create_group", "name", "created"),
            ("create_group", "alpha", "created"),
            ("create_group", "zeta", "created"),
        ]
    );
    assert_eq!(entries[1].actor, Actor::Key("k2".into()));
    assert_eq!(entries[0].actor, Actor::System);
    assert_eq!(entries[5].actor, Actor::Key("lbl".into()));
    assert_eq!(entries[2].detail["changes"][0]["before"], json!("Acme"));
    assert_eq!(entries[2].detail["changes"][0]["after"], json!("Acme 2"));
    assert_eq!(entries[0].detail["changes"][0]["after"], Value::Null);
    assert_eq!(entries[3].created_at, T0);
    assert!(entries.iter().all(|e| e.item_id == g.id));
    let detail_keys: Vec<_> = entries[0]
        .detail
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        detail_keys,
        ["changes", "trigger", "name", "short_id", "type"]
    );
    let (page, total) = s.group_activity(p, g.id, 2, 2).await.unwrap();
    assert_eq!(total, 6);
    assert_eq!(page, entries[2..4].to_vec());
    // Activity belongs to its project.
    let q = project(&s).await;
    assert_eq!(s.group_activity(q, g.id, 0, 10).await.unwrap().1, 0);
}

pub async fn list_order_cursor_and_filters(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let i = new_type(&s, p, "org").await;
    let other = new_type(&s, p, "other").await;
    // Same created_at for several keys: key descending in byte order.
    for (k, t, props) in [
        ("b", T0, json!({"Name": "Big Co", "pct": "50%"})),
        ("B", T0, json!({"name": "under_score"})),
        ("é", T0, json!({"name": "Ünïcode"})),
        ("a", T0 + SEC, json!({"note": "back\\slash"})),
        ("Zed", T0 - SEC, json!({"name": "zed"})),
    ] {
        s.create_group(p, i, key(k), obj(props), Actor::System, t)
            .await
            .unwrap();
    }
    s.create_group(
        p,
        other,
        key("b"),
        obj(json!({"name": "big co"})),
        Actor::System,
        T0,
    )
    .await
    .unwrap();
    let list = |q: GroupListQuery| {
        let s = s.clone();
        async move {
            s.list_groups(p, q)
                .await
                .unwrap()
                .into_iter()
                .map(|g| g.key)
                .collect::<Vec<_>>()
        }
    };
    let base = GroupListQuery {
        index: i.0,
        limit: 100,
        ..Default::default()
    };
    assert_eq!(list(base.clone()).await, ["a", "é", "b", "B", "Zed"]);
    // Cursor: strictly after (created_at, key) in list order.
    let q = GroupListQuery {
        after: Some((T0, "é".into())),
        limit: 2,
        ..base.clone()
    };
    assert_eq!(list(q).await, ["b", "B"]);
    let q = GroupListQuery {
        after: Some((T0, "B".into())),
        ..base.clone()
    };
    assert_eq!(list(q).await, ["Zed"]);
    let search = |t: &str| GroupListQuery {
        search: Some(t.into()),
        ..base.clone()
    };
    // Substring of the properties' JSON text, case-insensitive (the caller lower-cases).
    assert_eq!(list(search("big co")).await, ["b"]);
    assert_eq!(list(search("\"name\"")).await, ["é", "b", "B", "Zed"]);
    assert_eq!(list(search("ünï")).await, ["é"]);
    // `%`, `_` and `\` are literal.
    assert_eq!(list(search("50%")).await, ["b"]);
    assert_eq!(list(search("%")).await, ["b"]);
    assert_eq!(list(search("r_s")).await, ["B"]);
    assert_eq!(list(search("_")).await, ["B"]);
    assert_eq!(list(search("k\\\\s")).await, ["a"]);
    // Or the exact key, case-insensitive.
    assert_eq!(list(search("zed")).await, ["Zed"]);
    assert_eq!(list(search("b")).await, ["a", "b", "B"]);
    assert!(list(search("nothing here")).await.is_empty());
    let key_contains = |t: &str| GroupListQuery {
        key_contains: Some(t.into()),
        ..base.clone()
    };
    assert_eq!(list(key_contains("e")).await, ["Zed"]);
    assert_eq!(list(key_contains("b")).await, ["b", "B"]);
    assert_eq!(list(key_contains("%")).await, Vec::<String>::new());
    let both = GroupListQuery {
        search: Some("co".into()),
        key_contains: Some("b".into()),
        ..base.clone()
    };
    assert_eq!(list(both).await, ["b", "B"]);
    // Another type's groups stay out.
    let q = GroupListQuery {
        index: other.0,
        limit: 100,
        ..Default::default()
    };
    assert_eq!(list(q).await, ["b"]);
}

pub async fn definitions_and_values(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let i = new_type(&s, p, "org").await;
    let j = new_type(&s, p, "team").await;
    for (k, props) in [
        ("1", json!({"plan": "pro", "seats": 3, "ok": true})),
        (
            "2",
            json!({"plan": "Pro", "seats": 3.5, "obj": {"b": 1, "a": [2]}}),
        ),
        ("3", json!({"plan": "pro", "seats": 100.0, "n": null})),
        ("4", json!({"seats": 3})),
    ] {
        s.create_group(p, i, key(k), obj(props), Actor::System, T0)
            .await
            .unwrap();
    }
    s.create_group(p, j, key("t"), obj(json!({"z": 1})), Actor::System, T0)
        .await
        .unwrap();
    let defs: Vec<_> = s
        .property_definitions(p)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.index, d.name, d.count))
        .collect();
    let want: Vec<(i64, String, i64)> = vec![
        (0, "seats".into(), 4),
        (0, "plan".into(), 3),
        (0, "n".into(), 1),
        (0, "obj".into(), 1),
        (0, "ok".into(), 1),
        (1, "z".into(), 1),
    ];
    assert_eq!(defs, want);
    let values = |prop: &str, f: Option<&str>| {
        let s = s.clone();
        let prop = prop.to_owned();
        let f = f.map(str::to_owned);
        async move {
            s.property_values(p, i, &prop, f.as_deref())
                .await
                .unwrap()
                .into_iter()
                .map(|v| (v.name, v.count))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        values("plan", None).await,
        [("pro".to_string(), 2), ("Pro".into(), 1)]
    );
    assert_eq!(
        values("plan", Some("PR")).await,
        [("pro".to_string(), 2), ("Pro".into(), 1)]
    );
    assert_eq!(
        values("seats", None).await,
        [("3".to_string(), 2), ("100.0".into(), 1), ("3.5".into(), 1)]
    );
    assert_eq!(
        values("obj", None).await,
        [(r#"{"b":1,"a":[2]}"#.to_string(), 1)]
    );
    assert_eq!(values("ok", None).await, [("true".to_string(), 1)]);
    assert_eq!(values("n", None).await, [("null".to_string(), 1)]);
    assert!(values("missing", None).await.is_empty());
}

/// The counts behind `property_definitions` and `property_values` follow every kind of write:
/// REST create, set, set_once and unset, capture set, set_once and unset (several on one group in
/// one request, and merges that change nothing), type deletion and the reuse of its index.
pub async fn property_counts_follow_every_write(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let org = new_type(&s, p, "org").await;
    let team = new_type(&s, p, "team").await;
    for (i, k, props) in [
        (org, "a", json!({"plan": "pro", "seats": 3, "tags": ["x"]})),
        (org, "b", json!({"plan": "pro"})),
        (team, "t", json!({"plan": "free", "seats": 3})),
    ] {
        s.create_group(p, i, key(k), obj(props), Actor::System, T0)
            .await
            .unwrap();
    }
    for (k, prop, op) in [
        ("b", "seats", PropOp::Set(json!(3))),
        ("a", "plan", PropOp::Set(json!("enterprise"))),
        ("a", "tags", PropOp::Unset),
        ("b", "plan", PropOp::SetOnce(json!("ignored"))),
        ("a", "seats", PropOp::Set(json!(3.0))),
        ("a", "seats", PropOp::Set(json!(3.0))),
    ] {
        s.update_group_property(p, org, key(k), prop.into(), op, Actor::System, T0 + SEC)
            .await
            .unwrap();
    }
    assert_counts_match_groups(&s, p).await;
    s.ingest(
        p,
        vec![
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
        5,
        T0 + 20 * SEC,
    )
    .await
    .unwrap();
    s.ingest(
        p,
        vec![identify(
            "org",
            "d",
            T0,
            json!({}),
            json!({"plan": "pro"}),
            &[],
        )],
        5,
        T0 + 20 * SEC,
    )
    .await
    .unwrap();
    let defs = |s: Arc<dyn Store>| async move {
        s.property_definitions(p)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.index, d.name, d.count))
            .collect::<Vec<_>>()
    };
    let d = |i: GroupTypeIndex, name: &str, n: i64| (i.0, name.to_owned(), n);
    let site = GroupTypeIndex(2);
    assert_eq!(
        defs(s.clone()).await,
        [
            d(org, "plan", 3),
            d(org, "seats", 3),
            d(org, "region", 1),
            d(team, "plan", 1),
            d(team, "seats", 1),
            d(site, "plan", 1),
        ]
    );
    let values = |i: GroupTypeIndex, prop: &str, f: Option<&str>| {
        let s = s.clone();
        let (prop, f) = (prop.to_owned(), f.map(str::to_owned));
        async move {
            s.property_values(p, i, &prop, f.as_deref())
                .await
                .unwrap()
                .into_iter()
                .map(|v| (v.name, v.count))
                .collect::<Vec<_>>()
        }
    };
    let v = |name: &str, n: i64| (name.to_owned(), n);
    assert_eq!(values(org, "plan", None).await, [v("pro", 2), v("free", 1)]);
    assert_eq!(
        values(org, "plan", Some("R")).await,
        [v("pro", 2), v("free", 1)]
    );
    assert_eq!(values(org, "plan", Some("fR")).await, [v("free", 1)]);
    assert_eq!(
        values(org, "seats", None).await,
        [v("3", 1), v("3.0", 1), v("5", 1)]
    );
    assert!(values(org, "tags", None).await.is_empty());
    assert_counts_match_groups(&s, p).await;

    // A deleted type's counts go with it; a new type at its index starts from nothing.
    s.delete_group_type(p, team).await.unwrap();
    assert!(defs(s.clone()).await.iter().all(|(i, _, _)| *i != team.0));
    assert!(values(team, "plan", None).await.is_empty());
    assert_eq!(new_type(&s, p, "team2").await, team);
    s.create_group(p, team, key("t"), obj(json!({"z": 1})), Actor::System, T0)
        .await
        .unwrap();
    assert_eq!(
        defs(s.clone())
            .await
            .into_iter()
            .filter(|x| x.0 == team.0)
            .collect::<Vec<_>>(),
        [d(team, "z", 1)]
    );
    assert_counts_match_groups(&s, p).await;

    // More distinct values than are shown: the top 20, ties in byte order.
    for n in 0..25 {
        s.create_group(
            p,
            org,
            key(&format!("many{n}")),
            obj(json!({"n": format!("v{:02}", 24 - n), "even": n % 2 == 0})),
            Actor::System,
            T0,
        )
        .await
        .unwrap();
    }
    let shown = values(org, "n", None).await;
    assert_eq!(shown.len(), 20);
    assert_eq!(shown[0], v("v00", 1));
    assert_eq!(shown[19], v("v19", 1));
    assert_eq!(values(org, "n", Some("V2")).await.len(), 5);
    assert_eq!(
        values(org, "even", None).await,
        [v("true", 13), v("false", 12)]
    );
    assert_counts_match_groups(&s, p).await;

    // The `value` filter lower-cases by Unicode rules: İ is "i̇" (two characters), K (Kelvin) "k".
    for (k, city) in [("c1", "İstanbul"), ("c2", "École \u{212A}"), ("c3", "Kiel")] {
        s.create_group(
            p,
            org,
            key(k),
            obj(json!({ "city": city })),
            Actor::System,
            T0,
        )
        .await
        .unwrap();
    }
    let cities = |f: &'static str| {
        let values = &values;
        async move {
            values(org, "city", Some(f))
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

pub async fn ingest_idempotency_and_types(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let u1 = uuid::Uuid::new_v4();
    let u2 = uuid::Uuid::new_v4();
    let mut gi = identify(
        "company",
        "acme",
        T0,
        json!({"name": "Acme"}),
        json!({}),
        &[],
    );
    gi.uuid = u2;
    let batch = vec![
        event("a", u1, Some(T0), &[("project", "p1"), ("company", "c1")]),
        gi.clone(),
        event("b", uuid::Uuid::new_v4(), None, &[("", "x"), ("team", "")]),
        // A retry inside the request.
        event("a", u1, Some(T0), &[("project", "p1")]),
    ];
    let sum = s.ingest(p, batch, 5, T0).await.unwrap();
    assert_eq!(
        (sum.stored, sum.duplicates, sum.group_updates, sum.warnings),
        (3, 1, 1, 0)
    );
    let types: Vec<_> = s
        .list_group_types(p)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.index, t.group_type))
        .collect();
    assert_eq!(types, [(0, "project".into()), (1, "company".into())]);
    // Retried later: ignored, group changes included. Same uuid at another time: a new event.
    let mut changed = gi.clone();
    if let Some(Ok(g)) = &mut changed.group_identify {
        g.set = obj(json!({"name": "Changed"}));
    }
    let sum = s
        .ingest(p, vec![changed, event("a", u1, Some(T0 + 1), &[])], 5, T0)
        .await
        .unwrap();
    assert_eq!((sum.stored, sum.duplicates, sum.group_updates), (1, 1, 0));
    let g = s
        .find_group(p, GroupTypeIndex(1), &key("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.properties(), obj(json!({"name": "Acme"})));
    // A retried identify of a type not yet known does not create the type; the limit warns.
    let mut retry = identify("late", "x", T0, json!({}), json!({}), &[]);
    retry.uuid = u2;
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
    let sum = s.ingest(p, full, 5, T0 + 5).await.unwrap();
    assert_eq!(
        (sum.stored, sum.duplicates, sum.group_updates, sum.warnings),
        (2, 1, 0, 2)
    );
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
    // An invalid identify is stored and warned about.
    let mut bad = event("$groupidentify", uuid::Uuid::new_v4(), Some(T0), &[]);
    bad.group_identify = Some(Err(InvalidGroupIdentify {
        reason: "$group_key is missing or blank.",
        group_type: Some("company".into()),
        group_key: None,
    }));
    let sum = s.ingest(p, vec![bad.clone()], 5, T0).await.unwrap();
    assert_eq!((sum.stored, sum.warnings), (1, 1));
    let w = s.ingestion_warnings(p, 1).await.unwrap();
    assert_eq!(w[0].kind, "invalid_group_identify");
    assert_eq!(w[0].details["event_uuid"], json!(bad.uuid.to_string()));
    // Warnings are per project.
    let q = project(&s).await;
    assert!(s.ingestion_warnings(q, 10).await.unwrap().is_empty());
}

pub async fn ingest_merges_in_any_order(s: Arc<dyn Store>) {
    let p = project(&s).await;
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
    // One request, then the same operations one by one in reverse, on another group.
    let sum = s.ingest(p, ops.clone(), 5, T0 + 100 * SEC).await.unwrap();
    assert_eq!(sum.group_updates, 4);
    for ev in ops.iter().rev() {
        let mut ev = ev.clone();
        ev.uuid = uuid::Uuid::new_v4();
        if let Some(Ok(gi)) = &mut ev.group_identify {
            gi.group_key = "h".into();
        }
        s.ingest(p, vec![ev], 5, T0 + 200 * SEC).await.unwrap();
    }
    let want = obj(json!({"plan": "late", "first": "z-earliest"}));
    for k in ["g", "h"] {
        let g = s
            .find_group(p, GroupTypeIndex(0), &key(k))
            .await
            .unwrap()
            .unwrap();
        let mut got: Vec<_> = g.properties().clone().into_iter().collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let mut w: Vec<_> = want.clone().into_iter().collect();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, w, "group {k}");
        assert_eq!(g.created_at, T0 + 5 * SEC, "group {k}");
    }
    let g = s
        .find_group(p, GroupTypeIndex(0), &key("g"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.updated_at, T0 + 100 * SEC);
    let (entries, _) = s.group_activity(p, g.id, 0, 100).await.unwrap();
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
    // An identify with no properties still creates the group.
    s.ingest(
        p,
        vec![identify("org", "empty", T0, json!({}), json!({}), &[])],
        5,
        T0,
    )
    .await
    .unwrap();
    let g = s
        .find_group(p, GroupTypeIndex(0), &key("empty"))
        .await
        .unwrap()
        .unwrap();
    assert!(g.properties().is_empty());
    assert_counts_match_groups(&s, p).await;
}

pub async fn concurrent_writers(s: Arc<dyn Store>) {
    let p = project(&s).await;
    // Many requests at once: new types, the same groups, REST updates in between.
    let mut tasks = Vec::new();
    for n in 0..16i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let t = T0 + n * SEC;
            let evs = vec![
                event(
                    "e",
                    uuid::Uuid::new_v4(),
                    Some(t),
                    &[(&format!("type{}", n % 4), "k")],
                ),
                identify(
                    "org",
                    "same",
                    t,
                    json!({ "v": n, format!("p{n}"): n }),
                    json!({"once": n}),
                    &[],
                ),
                identify(
                    "org",
                    &format!("g{}", n % 3),
                    t,
                    json!({ "v": n }),
                    json!({}),
                    &[],
                ),
            ];
            s.ingest(p, evs, 8, T0 + 1000 * SEC).await.unwrap();
            if n % 2 == 0 {
                let types = s.list_group_types(p).await.unwrap();
                let org = types.iter().find(|t| t.group_type == "org").unwrap().index;
                s.update_group_property(
                    p,
                    GroupTypeIndex(org),
                    key("same"),
                    "rest".into(),
                    PropOp::Set(json!(n)),
                    Actor::System,
                    T0 + 100 * SEC + n,
                )
                .await
                .ok();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let types = s.list_group_types(p).await.unwrap();
    let mut idx: Vec<_> = types.iter().map(|t| t.index).collect();
    idx.sort_unstable();
    assert_eq!(idx, (0..5).collect::<Vec<_>>());
    let org = types.iter().find(|t| t.group_type == "org").unwrap().index;
    let g = s
        .find_group(p, GroupTypeIndex(org), &key("same"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.properties()["v"], json!(15));
    assert_eq!(g.properties()["once"], json!(0));
    assert_eq!(g.properties()["rest"], json!(14));
    for n in 0..16 {
        assert_eq!(g.properties()[&format!("p{n}")], json!(n));
    }
    assert_eq!(g.created_at, T0);
    let list = s
        .list_groups(
            p,
            GroupListQuery {
                index: org,
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(list.len(), 4);
    assert_counts_match_groups(&s, p).await;
}

pub async fn queries(s: Arc<dyn Store>) {
    let p = project(&s).await;
    s.ingest(
        p,
        vec![
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
        5,
        T0 + 10 * SEC,
    )
    .await
    .unwrap();
    let run = |q: &str| {
        let s = s.clone();
        let q = q.to_owned();
        async move {
            let ctx = groupd_hogql::QueryContext::new(p.0, T0 + 10 * SEC);
            let t = groupd_hogql::translate(&q, s.dialect(), &ctx).expect("translates");
            let rows = s
                .run_query(t.clone(), Duration::from_secs(10))
                .await
                .unwrap();
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .zip(&t.types)
                        .map(|(v, ty)| groupd_hogql::to_json(ty, v))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        run("SELECT event, count() AS n FROM events GROUP BY event ORDER BY event").await,
        vec![
            vec![json!("$groupidentify"), json!(1)],
            vec![json!("click"), json!(1)],
            vec![json!("pageview"), json!(2)]
        ]
    );
    assert_eq!(
        run("SELECT event, timestamp, $group_0 FROM events WHERE event != '$groupidentify' ORDER BY timestamp").await,
        vec![
            vec![json!("pageview"), json!("2026-05-01T00:00:00Z"), json!("acme")],
            vec![json!("pageview"), json!("2026-05-01T00:00:00.001500Z"), json!("")],
            vec![json!("click"), json!("2026-05-01T00:00:01Z"), json!("acme")],
        ]
    );
    assert_eq!(
        run("SELECT key, properties.name, properties.seats FROM groups").await,
        vec![vec![json!("acme"), json!("Acme"), json!(3)]]
    );
    // The database refuses a bad statement: the query's own failure, not a server error.
    let bad = groupd_hogql::Translated {
        sql: "SELECT * FROM no_such_table".into(),
        ..groupd_hogql::translate(
            "SELECT 1",
            s.dialect(),
            &groupd_hogql::QueryContext::new(p.0, T0),
        )
        .unwrap()
    };
    assert!(matches!(
        s.run_query(bad, Duration::from_secs(5)).await,
        Err(StoreError::QueryFailed(_))
    ));
    // Long work is cancelled at the deadline.
    let slow = match s.dialect() {
        groupd_hogql::Dialect::Postgres => "SELECT count(*) FROM generate_series(1, 2000000000)",
        _ => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        }
    };
    let slow = groupd_hogql::Translated {
        sql: slow.into(),
        params: vec![],
        ..groupd_hogql::translate(
            "SELECT 1",
            s.dialect(),
            &groupd_hogql::QueryContext::new(p.0, T0),
        )
        .unwrap()
    };
    let started = std::time::Instant::now();
    let r = s.run_query(slow, Duration::from_millis(300)).await;
    assert!(matches!(r, Err(StoreError::QueryTimeout)), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    s.health().await.unwrap();
}

/// Turns every check into a `#[tokio::test]` for a backend. `$open` is an async fn returning
/// `Option<H>` (None = skip) where `H: AsRef<Arc<dyn Store>>` cleans up when dropped.
#[macro_export]
macro_rules! conformance_tests {
    ($open:path) => {
        $crate::conformance_tests!(@each $open;
            projects, api_keys, group_types, groups_create_update_and_activity,
            list_order_cursor_and_filters, definitions_and_values, property_counts_follow_every_write,
            ingest_idempotency_and_types, ingest_merges_in_any_order, concurrent_writers, queries);
    };
    (@each $open:path; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(handle) = $open().await else { return };
                $crate::conformance::$name(::std::convert::AsRef::<::std::sync::Arc<dyn $crate::Store>>::as_ref(&handle).clone()).await;
            }
        )*
    };
}

/// A fresh PostgreSQL database per test, dropped afterwards.
pub mod pg {
    use std::sync::Arc;

    use crate::Store;

    /// The server the tests use (`GROUPD_TEST_POSTGRES` overrides).
    pub fn admin_url() -> String {
        std::env::var("GROUPD_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
    }

    /// A store on a fresh database `groupd_test_<random>`.
    pub struct PgTestDb {
        pub store: Arc<dyn Store>,
        pub url: String,
        name: String,
    }

    impl AsRef<Arc<dyn Store>> for PgTestDb {
        fn as_ref(&self) -> &Arc<dyn Store> {
            &self.store
        }
    }

    /// `None` (skip) when the server is unreachable and `GROUPD_SKIP_POSTGRES=1`; otherwise an
    /// unreachable server fails the test with a message saying so.
    pub async fn open() -> Option<PgTestDb> {
        let admin = admin_url();
        let name = format!("groupd_test_{}", uuid::Uuid::new_v4().simple());
        let connected = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await;
        let (client, conn) = match connected {
            Ok(c) => c,
            Err(e) if std::env::var("GROUPD_SKIP_POSTGRES").as_deref() == Ok("1") => {
                eprintln!("skipped: no PostgreSQL at {admin}: {e}");
                return None;
            }
            Err(e) => panic!(
                "these tests need a PostgreSQL server at {admin} (GROUPD_TEST_POSTGRES sets another; \
                 GROUPD_SKIP_POSTGRES=1 skips them): {e}"
            ),
        };
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let store = crate::open(&url).await.expect("open the test database");
        Some(PgTestDb { store, url, name })
    }

    impl Drop for PgTestDb {
        fn drop(&mut self) {
            let (admin, name) = (admin_url(), self.name.clone());
            // Drop may run inside a runtime: do the blocking work on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                        .await
                        .ok()?;
                    let task = tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    drop(client);
                    let _ = task.await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// A store on a temporary SQLite file.
pub mod sqlite {
    use std::sync::Arc;

    use crate::Store;

    pub struct SqliteTestDb {
        pub store: Arc<dyn Store>,
        _dir: tempfile::TempDir,
    }

    impl AsRef<Arc<dyn Store>> for SqliteTestDb {
        fn as_ref(&self) -> &Arc<dyn Store> {
            &self.store
        }
    }

    pub async fn open() -> Option<SqliteTestDb> {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::open(&url).await.unwrap();
        Some(SqliteTestDb { store, _dir: dir })
    }
}

#[cfg(test)]
mod sqlite_backend {
    crate::conformance_tests!(crate::conformance::sqlite::open);
}

#[cfg(test)]
mod postgres_backend {
    crate::conformance_tests!(crate::conformance::pg::open);

    /// Several processes starting at once on a database that does not exist yet: it is created
    /// once, migrated once, and every one of them opens it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_opens_create_and_migrate_once() {
        let Some(probe) = super::pg::open().await else {
            return;
        };
        drop(probe);
        let admin = super::pg::admin_url();
        let name = format!("groupd_test_{}", uuid::Uuid::new_v4().simple());
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let opened = futures_join(&url).await;
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        let versions: i64 = client
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        drop(client);
        let _ = task.await;
        drop(opened);
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
        assert_eq!(versions, crate::postgres::MIGRATIONS.len() as i64);
    }

    async fn futures_join(url: &str) -> Vec<std::sync::Arc<dyn crate::Store>> {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let url = url.to_owned();
                tokio::spawn(async move { crate::open(&url).await })
            })
            .collect();
        let mut stores = Vec::new();
        for t in tasks {
            stores.push(t.await.unwrap().expect("every concurrent open succeeds"));
        }
        stores
    }
}
