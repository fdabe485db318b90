//! The group list: its order, its cursor, its filters.
use std::sync::Arc;

use groupd_core::{GroupTypeIndex, ProjectId, cursor::Cursor};
use serde_json::json;

use super::{SEC, T0, create, new_type, project};
use crate::{GroupListQuery, Store};

/// Five `org` groups (several at one `created_at`) and one of another type.
async fn listed(s: &Arc<dyn Store>) -> (ProjectId, GroupTypeIndex, GroupTypeIndex) {
    let p = project(s).await;
    let i = new_type(s, p, "org").await;
    let other = new_type(s, p, "other").await;
    for (k, t, props) in [
        ("b", T0, json!({"Name": "Big Co", "pct": "50%"})),
        ("B", T0, json!({"name": "under_score"})),
        ("é", T0, json!({"name": "Ünïcode"})),
        ("a", T0 + SEC, json!({"note": "back\\slash"})),
        ("Zed", T0 - SEC, json!({"name": "zed"})),
    ] {
        create(s, p, i, k, props, t).await.unwrap();
    }
    create(s, p, other, "b", json!({"name": "big co"}), T0)
        .await
        .unwrap();
    (p, i, other)
}

async fn keys(s: &Arc<dyn Store>, p: ProjectId, q: GroupListQuery) -> Vec<String> {
    s.list_groups(p, q)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.key.into_string())
        .collect()
}

fn search(i: GroupTypeIndex, text: &str) -> GroupListQuery {
    GroupListQuery {
        search: Some(text.into()),
        ..GroupListQuery::new(i, 100)
    }
}

fn key_contains(i: GroupTypeIndex, text: &str) -> GroupListQuery {
    GroupListQuery {
        key_contains: Some(text.into()),
        ..GroupListQuery::new(i, 100)
    }
}

pub async fn groups_list_newest_first_then_key_descending(s: Arc<dyn Store>) {
    let (p, i, _) = listed(&s).await;
    // Same created_at for several keys: key descending in byte order.
    assert_eq!(
        keys(&s, p, GroupListQuery::new(i, 100)).await,
        ["a", "é", "b", "B", "Zed"]
    );
    assert_eq!(keys(&s, p, GroupListQuery::new(i, 2)).await, ["a", "é"]);
}

pub async fn a_cursor_continues_strictly_after_its_position(s: Arc<dyn Store>) {
    let (p, i, _) = listed(&s).await;
    let after = |k: &str| {
        Some(Cursor {
            created_at_us: T0,
            key: k.into(),
        })
    };
    let q = GroupListQuery {
        after: after("é"),
        ..GroupListQuery::new(i, 2)
    };
    assert_eq!(keys(&s, p, q).await, ["b", "B"]);
    let q = GroupListQuery {
        after: after("B"),
        ..GroupListQuery::new(i, 100)
    };
    assert_eq!(keys(&s, p, q).await, ["Zed"]);
}

pub async fn search_matches_the_properties_text_case_insensitively(s: Arc<dyn Store>) {
    let (p, i, _) = listed(&s).await;
    assert_eq!(keys(&s, p, search(i, "big co")).await, ["b"]);
    // The text as the user gave it: the store folds case (Unicode-aware).
    assert_eq!(keys(&s, p, search(i, "BIG CO")).await, ["b"]);
    assert_eq!(
        keys(&s, p, search(i, "\"name\"")).await,
        ["é", "b", "B", "Zed"]
    );
    assert_eq!(keys(&s, p, search(i, "ünï")).await, ["é"]);
    assert_eq!(keys(&s, p, search(i, "ÜNÏ")).await, ["é"]);
    assert!(keys(&s, p, search(i, "nothing here")).await.is_empty());
}

pub async fn search_treats_like_wildcards_literally(s: Arc<dyn Store>) {
    let (p, i, _) = listed(&s).await;
    assert_eq!(keys(&s, p, search(i, "50%")).await, ["b"]);
    assert_eq!(keys(&s, p, search(i, "%")).await, ["b"]);
    assert_eq!(keys(&s, p, search(i, "r_s")).await, ["B"]);
    assert_eq!(keys(&s, p, search(i, "_")).await, ["B"]);
    assert_eq!(keys(&s, p, search(i, "k\\\\s")).await, ["a"]);
}

pub async fn search_also_matches_the_whole_key(s: Arc<dyn Store>) {
    let (p, i, _) = listed(&s).await;
    // The exact key, case-insensitive.
    assert_eq!(keys(&s, p, search(i, "zed")).await, ["Zed"]);
    assert_eq!(keys(&s, p, search(i, "b")).await, ["a", "b", "B"]);
}

pub async fn key_filter_is_a_case_insensitive_substring(s: Arc<dyn Store>) {
    let (p, i, _) = listed(&s).await;
    assert_eq!(keys(&s, p, key_contains(i, "e")).await, ["Zed"]);
    assert_eq!(keys(&s, p, key_contains(i, "E")).await, ["Zed"]);
    assert_eq!(keys(&s, p, key_contains(i, "b")).await, ["b", "B"]);
    assert_eq!(
        keys(&s, p, key_contains(i, "%")).await,
        Vec::<String>::new()
    );
}

pub async fn search_and_key_filter_combine(s: Arc<dyn Store>) {
    let (p, i, _) = listed(&s).await;
    let both = GroupListQuery {
        search: Some("co".into()),
        key_contains: Some("b".into()),
        ..GroupListQuery::new(i, 100)
    };
    assert_eq!(keys(&s, p, both).await, ["b", "B"]);
}

pub async fn other_types_stay_out_of_the_list(s: Arc<dyn Store>) {
    let (p, _, other) = listed(&s).await;
    assert_eq!(keys(&s, p, GroupListQuery::new(other, 100)).await, ["b"]);
    assert!(
        keys(&s, p, GroupListQuery::new(GroupTypeIndex(4), 100))
            .await
            .is_empty()
    );
}
