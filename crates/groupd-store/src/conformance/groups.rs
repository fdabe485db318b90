//! Groups: REST create and property edits through the group rule, lookups, activity.
use std::sync::Arc;

use groupd_core::{Actor, GroupTypeIndex, ProjectId, merge::PropOp};
use serde_json::{Map, Value, json};

use super::{SEC, T0, at, by, found, new_type, obj, project, system, update};
use crate::{ActivityPage, Group, NewGroup, PropertyEdit, Store, StoreError};

/// A project with a `company` type and its group `acme`, created by key `lbl` at `T0`.
async fn acme(s: &Arc<dyn Store>) -> (ProjectId, GroupTypeIndex, Group) {
    let p = project(s).await;
    let i = new_type(s, p, "company").await;
    let props = obj(json!({"zeta": 1, "alpha": {"b": 2, "a": [1, "x"]}, "name": "Acme"}));
    let g = s
        .create_group(
            NewGroup {
                group: at(p, i, "acme"),
                properties: props,
            },
            by("lbl", T0),
        )
        .await
        .unwrap();
    (p, i, g)
}

/// `acme`, then: its name set, set again to the same value, set by an older change; a new
/// property set by key `k2`; `zeta` unset. Six entries of activity.
async fn acme_history(s: &Arc<dyn Store>) -> (ProjectId, GroupTypeIndex, Group) {
    let (p, i, _) = acme(s).await;
    let name = |v: &str| PropOp::Set(json!(v));
    update(s, at(p, i, "acme"), "name", name("Acme 2"), T0 + SEC)
        .await
        .unwrap();
    update(s, at(p, i, "acme"), "name", name("Acme 2"), T0 + 2 * SEC)
        .await
        .unwrap();
    update(s, at(p, i, "acme"), "name", name("old"), T0)
        .await
        .unwrap();
    s.update_group_property(
        PropertyEdit {
            group: at(p, i, "acme"),
            property: "new".into(),
            op: PropOp::Set(json!(true)),
        },
        by("k2", T0 + 3 * SEC),
    )
    .await
    .unwrap();
    update(s, at(p, i, "acme"), "zeta", PropOp::Unset, T0 + 4 * SEC)
        .await
        .unwrap();
    (p, i, found(s, p, i, "acme").await)
}

pub async fn create_group_refuses_a_missing_type(s: Arc<dyn Store>) {
    let p = project(&s).await;
    new_type(&s, p, "company").await;
    assert!(matches!(
        s.create_group(
            NewGroup {
                group: at(p, GroupTypeIndex(3), "k"),
                properties: Map::new()
            },
            system(T0)
        )
        .await,
        Err(StoreError::GroupTypeMissing(GroupTypeIndex(3)))
    ));
}

pub async fn create_group_returns_what_find_reads(s: Arc<dyn Store>) {
    let (p, i, g) = acme(&s).await;
    assert_eq!(
        (g.index, g.key.as_str(), g.created_at, g.updated_at),
        (i, "acme", T0, T0)
    );
    let got = found(&s, p, i, "acme").await;
    // Key order as stored.
    let keys: Vec<_> = got.properties().keys().cloned().collect();
    assert_eq!(keys, ["zeta", "alpha", "name"]);
    assert_eq!(got, g);
}

pub async fn create_group_refuses_a_key_in_use(s: Arc<dyn Store>) {
    let (p, i, g) = acme(&s).await;
    assert!(matches!(
        s.create_group(
            NewGroup {
                group: at(p, i, "acme"),
                properties: Map::new()
            },
            system(T0)
        )
        .await,
        Err(StoreError::GroupExists)
    ));
    assert_eq!(found(&s, p, i, "acme").await, g);
}

pub async fn find_group_is_exact_and_case_sensitive(s: Arc<dyn Store>) {
    let (p, i, _) = acme(&s).await;
    assert!(s.find_group(&at(p, i, "ACME")).await.unwrap().is_none());
    assert!(s.find_group(&at(p, i, "acm")).await.unwrap().is_none());
}

pub async fn a_set_changes_the_value_and_updated_at(s: Arc<dyn Store>) {
    let (p, i, _) = acme(&s).await;
    let g = update(
        &s,
        at(p, i, "acme"),
        "name",
        PropOp::Set(json!("Acme 2")),
        T0 + SEC,
    )
    .await
    .unwrap();
    assert_eq!(
        (g.updated_at, g.created_at, g.properties()["name"].clone()),
        (T0 + SEC, T0, json!("Acme 2"))
    );
    assert_eq!(found(&s, p, i, "acme").await, g);
}

pub async fn re_setting_a_value_records_no_activity(s: Arc<dyn Store>) {
    let (p, i, g) = acme(&s).await;
    let set = || PropOp::Set(json!("Acme 2"));
    update(&s, at(p, i, "acme"), "name", set(), T0 + SEC)
        .await
        .unwrap();
    // Same value again: no visible change, no activity, updated_at kept.
    let again = update(&s, at(p, i, "acme"), "name", set(), T0 + 2 * SEC)
        .await
        .unwrap();
    assert_eq!(again.updated_at, T0 + SEC);
    assert_eq!(
        s.group_activity(
            p,
            ActivityPage {
                group_id: g.id,
                offset: 0,
                limit: 100
            }
        )
        .await
        .unwrap()
        .1,
        4
    );
}

pub async fn an_older_set_loses_to_a_newer_one(s: Arc<dyn Store>) {
    let (p, i, _) = acme(&s).await;
    update(
        &s,
        at(p, i, "acme"),
        "name",
        PropOp::Set(json!("Acme 2")),
        T0 + SEC,
    )
    .await
    .unwrap();
    let g = update(&s, at(p, i, "acme"), "name", PropOp::Set(json!("old")), T0)
        .await
        .unwrap();
    assert_eq!(g.properties()["name"], json!("Acme 2"));
    assert_eq!(g.updated_at, T0 + SEC);
}

pub async fn a_rest_set_once_of_a_set_property_changes_nothing(s: Arc<dyn Store>) {
    let (p, i, g) = acme(&s).await;
    let once = PropOp::SetOnce(json!("ignored"));
    let after = update(&s, at(p, i, "acme"), "name", once, T0 + SEC)
        .await
        .unwrap();
    assert_eq!(after.properties(), g.properties());
    assert_eq!(
        s.group_activity(
            p,
            ActivityPage {
                group_id: g.id,
                offset: 0,
                limit: 100
            }
        )
        .await
        .unwrap()
        .1,
        3
    );
}

pub async fn unset_of_an_absent_property_is_refused(s: Arc<dyn Store>) {
    let (p, i, _) = acme_history(&s).await;
    assert!(matches!(
        update(&s, at(p, i, "acme"), "zeta", PropOp::Unset, T0 + 5 * SEC).await,
        Err(StoreError::PropertyMissing(n)) if n == "zeta"
    ));
}

pub async fn updating_a_missing_group_is_not_found(s: Arc<dyn Store>) {
    let (p, i, _) = acme(&s).await;
    assert!(matches!(
        update(&s, at(p, i, "nope"), "a", PropOp::Set(json!(1)), T0).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        update(&s, at(p, GroupTypeIndex(4), "acme"), "a", PropOp::Unset, T0).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn unset_removes_the_property_and_keeps_the_order_of_the_rest(s: Arc<dyn Store>) {
    let (_, _, g) = acme_history(&s).await;
    let keys: Vec<_> = g.properties().keys().cloned().collect();
    assert_eq!(keys, ["alpha", "name", "new"]);
    assert_eq!(g.updated_at, T0 + 4 * SEC);
}

pub async fn activity_lists_every_visible_change_newest_first(s: Arc<dyn Store>) {
    let (p, _, g) = acme_history(&s).await;
    let (entries, total) = s
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
}

pub async fn activity_pages_by_offset(s: Arc<dyn Store>) {
    let (p, _, g) = acme_history(&s).await;
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
    let (page, total) = s
        .group_activity(
            p,
            ActivityPage {
                group_id: g.id,
                offset: 2,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 6);
    assert_eq!(page, entries[2..4].to_vec());
}

pub async fn activity_belongs_to_its_project(s: Arc<dyn Store>) {
    let (_, _, g) = acme_history(&s).await;
    let q = project(&s).await;
    assert_eq!(
        s.group_activity(
            q,
            ActivityPage {
                group_id: g.id,
                offset: 0,
                limit: 10
            }
        )
        .await
        .unwrap()
        .1,
        0
    );
}
