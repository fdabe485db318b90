//! The group lifecycle: deletion and its tombstone, property versions and as-of reads, a patch's
//! all-or-nothing, and the change stream's numbering.
use std::sync::Arc;

use groupd_core::{GroupKey, GroupTypeIndex, ProjectId};
use serde_json::json;

use super::{SEC, T0, at, by, identify, new_type, obj, project, system};
use crate::{
    ActivityPage, ChangeKind, ChangesQuery, GroupDeletion, GroupPatch, HistoryQuery, IngestBatch,
    NewGroup, PropertyEdit, Store, StoreError,
};

async fn ingest(
    s: &Arc<dyn Store>,
    p: ProjectId,
    events: Vec<groupd_core::capture::CaptureEvent>,
) -> crate::IngestSummary {
    s.ingest(
        p,
        IngestBatch {
            source: Default::default(),
            events,
            max_group_types: 5,
            now_us: T0 + 100 * SEC,
        },
    )
    .await
    .unwrap()
}

fn all(p: ProjectId) -> ChangesQuery {
    ChangesQuery {
        project: p,
        since: 0,
        index: None,
        limit: 1000,
    }
}

fn deletion(p: ProjectId, keys: &[&str]) -> GroupDeletion {
    GroupDeletion {
        project: p,
        index: GroupTypeIndex(0),
        keys: keys.iter().map(|k| GroupKey::parse(*k).unwrap()).collect(),
    }
}

pub async fn a_tombstone_refuses_older_identifies_and_a_newer_one_starts_afresh(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let gi = identify(
        "company",
        "acme",
        T0,
        json!({"plan": "pro"}),
        json!({}),
        &[],
    );
    ingest(&s, p, vec![gi]).await;
    let out = s
        .delete_groups(deletion(p, &["acme", "nobody"]), system(T0 + 10 * SEC))
        .await
        .unwrap();
    assert_eq!(
        (out.deleted, out.not_found),
        (vec!["acme".into()], vec!["nobody".into()])
    );
    let late = identify(
        "company",
        "acme",
        T0 + 5 * SEC,
        json!({"plan": "late"}),
        json!({}),
        &[],
    );
    let sum = ingest(&s, p, vec![late]).await;
    assert_eq!((sum.stored, sum.warnings), (1, 1));
    assert!(
        s.find_group(&at(p, GroupTypeIndex(0), "acme"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.ingestion_warnings(p, 10).await.unwrap()[0].kind,
        "group_deleted"
    );
    // The deleted row's activity stays addressable by key.
    assert!(
        s.activity_group_id(&at(p, GroupTypeIndex(0), "acme"))
            .await
            .unwrap()
            .is_some()
    );
    let newer = identify(
        "company",
        "acme",
        T0 + 20 * SEC,
        json!({"seats": 1}),
        json!({}),
        &[],
    );
    ingest(&s, p, vec![newer]).await;
    let g = s
        .find_group(&at(p, GroupTypeIndex(0), "acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.properties(), obj(json!({"seats": 1})));
    assert_eq!(g.created_at, T0 + 20 * SEC);
}

pub async fn versions_keep_late_writes_and_as_of_reads_by_event_time(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let events = vec![
        identify(
            "company",
            "acme",
            T0 + 2 * SEC,
            json!({"plan": "pro"}),
            json!({}),
            &[],
        ),
        identify(
            "company",
            "acme",
            T0,
            json!({"plan": "free"}),
            json!({}),
            &[],
        ),
        identify(
            "company",
            "acme",
            T0 + 3 * SEC,
            json!({"plan": "pro"}),
            json!({}),
            &[],
        ),
    ];
    for e in events {
        ingest(&s, p, vec![e]).await;
    }
    let acme = at(p, GroupTypeIndex(0), "acme");
    let h = s
        .property_history(HistoryQuery {
            group: acme.clone(),
            property: None,
            offset: 0,
            limit: 100,
        })
        .await
        .unwrap()
        .unwrap();
    let got: Vec<(i64, Option<serde_json::Value>)> = h
        .iter()
        .map(|v| (v.event_time, v.previous_value.clone()))
        .collect();
    // The equal write at +3 s is no version; the late one at T0 is, before the first.
    assert_eq!(got, [(T0 + 2 * SEC, Some(json!("free"))), (T0, None)]);
    let then = s.find_group_as_of(&acme, T0 + SEC).await.unwrap().unwrap();
    assert_eq!(then.properties(), obj(json!({"plan": "free"})));
    assert!(s.find_group_as_of(&acme, T0 - SEC).await.unwrap().is_none());
}

pub async fn a_patch_with_an_unknown_unset_changes_nothing(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let i = new_type(&s, p, "company").await;
    let g = at(p, i, "acme");
    s.create_group(
        NewGroup {
            group: g.clone(),
            properties: obj(json!({"a": 1})),
        },
        by("k", T0),
    )
    .await
    .unwrap();
    let patch = |unset: &[&str]| GroupPatch {
        group: g.clone(),
        set: obj(json!({"a": 2, "b": 3})),
        unset: unset.iter().map(|u| (*u).to_owned()).collect(),
    };
    let refused = s.patch_group(patch(&["zz"]), by("k", T0 + SEC)).await;
    assert!(matches!(refused, Err(StoreError::PropertyMissing(p)) if p == "zz"));
    assert_eq!(
        s.find_group(&g).await.unwrap().unwrap().properties(),
        obj(json!({"a": 1}))
    );
    let done = s.patch_group(patch(&[]), by("k", T0 + SEC)).await.unwrap();
    assert_eq!(done.properties(), obj(json!({"a": 2, "b": 3})));
}

pub async fn changes_are_numbered_from_one_and_refused_or_equal_writes_take_none(
    s: Arc<dyn Store>,
) {
    let p = project(&s).await;
    let i = new_type(&s, p, "company").await;
    let g = at(p, i, "acme");
    s.create_group(
        NewGroup {
            group: g.clone(),
            properties: obj(json!({"a": 1})),
        },
        by("k", T0),
    )
    .await
    .unwrap();
    // A refused create and an equal patch: no change.
    assert!(
        s.create_group(
            NewGroup {
                group: g.clone(),
                properties: obj(json!({}))
            },
            by("k", T0)
        )
        .await
        .is_err()
    );
    let same = GroupPatch {
        group: g.clone(),
        set: obj(json!({"a": 1})),
        unset: vec![],
    };
    s.patch_group(same, by("k", T0 + SEC)).await.unwrap();
    let other = project(&s).await;
    let gi = identify("company", "x", T0, json!({"n": 1}), json!({}), &[]);
    ingest(&s, other, vec![gi]).await;
    s.delete_groups(deletion(p, &["acme"]), by("k", T0 + 2 * SEC))
        .await
        .unwrap();
    let page = s.changes(all(p)).await.unwrap();
    let kinds: Vec<(i64, ChangeKind)> = page.results.iter().map(|c| (c.seq, c.kind)).collect();
    assert_eq!(kinds, [(1, ChangeKind::Created), (2, ChangeKind::Deleted)]);
    assert_eq!((page.head, page.oldest, page.next_since), (2, 1, 2));
    // Each project has its own sequence.
    assert_eq!(s.changes(all(other)).await.unwrap().head, 1);
    // Pruned: the head stays, nothing is kept below it.
    assert_eq!(s.prune_changes(i64::MAX).await.unwrap(), 3);
    let page = s.changes(all(p)).await.unwrap();
    assert_eq!((page.results.len(), page.head, page.oldest), (0, 2, 3));
}

/// The activity log is read from the versions (one row per change): entries of REST edits and of
/// capture, newest first, none for a late write; a deletion keeps every entry as it was (same
/// ids, same order) behind its own.
pub async fn activity_survives_deletion_unchanged(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let i = new_type(&s, p, "company").await;
    let g = at(p, i, "acme");
    let props = obj(json!({"plan": "free", "seats": 3}));
    s.create_group(
        NewGroup {
            group: g.clone(),
            properties: props,
        },
        by("crm", T0 + SEC),
    )
    .await
    .unwrap();
    let set_plan = PropertyEdit {
        group: g.clone(),
        property: "plan".into(),
        op: groupd_core::merge::PropOp::Set(json!("pro")),
    };
    s.update_group_property(set_plan, by("crm", T0 + 2 * SEC))
        .await
        .unwrap();
    // Capture (now = T0 + 100 s): seats 3 → 5 and a new property; plus a late plan, no entry.
    let events = vec![
        identify(
            "company",
            "acme",
            T0 + 3 * SEC,
            json!({"seats": 5, "tier": 1}),
            json!({}),
            &[],
        ),
        identify(
            "company",
            "acme",
            T0,
            json!({"plan": "late"}),
            json!({}),
            &[],
        ),
    ];
    ingest(&s, p, events).await;
    let unset = PropertyEdit {
        group: g.clone(),
        property: "seats".into(),
        op: groupd_core::merge::PropOp::Unset,
    };
    s.update_group_property(unset, by("ops", T0 + 200 * SEC))
        .await
        .unwrap();
    let id = s.activity_group_id(&g).await.unwrap().unwrap();
    let read = |offset, limit| {
        let s = s.clone();
        async move {
            s.group_activity(
                p,
                ActivityPage {
                    group_id: id,
                    offset,
                    limit,
                },
            )
            .await
            .unwrap()
        }
    };
    let (before, total) = read(0, 100).await;
    assert_eq!(total, 6);
    let shown: Vec<_> = before
        .iter()
        .map(|e| {
            let c = &e.detail["changes"][0];
            let actor = match &e.actor {
                groupd_core::Actor::Key(l) => l.clone(),
                groupd_core::Actor::System => "System".into(),
            };
            (
                e.activity.clone(),
                c["action"].as_str().unwrap().to_owned(),
                e.detail["name"].as_str().unwrap().to_owned(),
                c["before"].clone(),
                c["after"].clone(),
                actor,
                e.created_at,
            )
        })
        .collect();
    let entry = |a: &str, x: &str, n: &str, b, f, k: &str, t| {
        (
            a.to_owned(),
            x.to_owned(),
            n.to_owned(),
            b,
            f,
            k.to_owned(),
            t,
        )
    };
    let null = serde_json::Value::Null;
    assert_eq!(
        shown,
        vec![
            entry(
                "update_property",
                "deleted",
                "seats",
                json!(5),
                null.clone(),
                "ops",
                T0 + 200 * SEC
            ),
            entry(
                "create_property",
                "created",
                "tier",
                null.clone(),
                json!(1),
                "System",
                T0 + 100 * SEC
            ),
            entry(
                "update_property",
                "changed",
                "seats",
                json!(3),
                json!(5),
                "System",
                T0 + 100 * SEC
            ),
            entry(
                "update_property",
                "changed",
                "plan",
                json!("free"),
                json!("pro"),
                "crm",
                T0 + 2 * SEC
            ),
            entry(
                "create_group",
                "created",
                "seats",
                null.clone(),
                json!(3),
                "crm",
                T0 + SEC
            ),
            entry(
                "create_group",
                "created",
                "plan",
                null.clone(),
                json!("free"),
                "crm",
                T0 + SEC
            ),
        ]
    );
    let ids: std::collections::HashSet<_> = before.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 6, "every entry has its own id");
    assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()));
    // Pages cut the same order.
    let (page, _) = read(2, 2).await;
    assert_eq!(page, before[2..4]);
    assert_eq!(read(0, 100).await.0, before, "ids are stable between reads");

    s.delete_groups(deletion(p, &["acme"]), by("ops", T0 + 300 * SEC))
        .await
        .unwrap();
    let (after, total) = read(0, 100).await;
    assert_eq!(total, 7);
    assert_eq!(after[0].activity, "delete_group");
    assert_eq!(after[1..], before[..]);
}
