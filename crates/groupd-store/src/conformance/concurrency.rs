//! Many writers at once, as several requests (or processes) make them.
use std::sync::Arc;

use groupd_core::merge::PropOp;
use serde_json::json;

use super::{SEC, T0, assert_counts_match_groups, at, event, found, identify, project, system};
use crate::{GroupListQuery, IngestBatch, PropertyEdit, Store};

/// Many requests at once: new types, the same groups, REST updates in between; every change
/// survives and the counts still match the groups.
pub async fn concurrent_requests_keep_every_change(s: Arc<dyn Store>) {
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
            s.ingest(
                p,
                IngestBatch {
                    source: Default::default(),
                    events: evs,
                    max_group_types: 8,
                    now_us: T0 + 1000 * SEC,
                },
            )
            .await
            .unwrap();
            if n % 2 == 0 {
                let types = s.list_group_types(p).await.unwrap();
                let org = types.iter().find(|t| t.group_type == "org").unwrap().index;
                s.update_group_property(
                    PropertyEdit {
                        group: at(p, org, "same"),
                        property: "rest".into(),
                        op: PropOp::Set(json!(n)),
                    },
                    system(T0 + 100 * SEC + n),
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
    let mut idx: Vec<_> = types.iter().map(|t| t.index.0).collect();
    idx.sort_unstable();
    assert_eq!(idx, (0..5).collect::<Vec<_>>());
    let org = types.iter().find(|t| t.group_type == "org").unwrap().index;
    let g = found(&s, p, org, "same").await;
    assert_eq!(g.properties()["v"], json!(15));
    assert_eq!(g.properties()["once"], json!(0));
    assert_eq!(g.properties()["rest"], json!(14));
    for n in 0..16 {
        assert_eq!(g.properties()[&format!("p{n}")], json!(n));
    }
    assert_eq!(g.created_at, T0);
    let list = s
        .list_groups(p, GroupListQuery::new(org, 100))
        .await
        .unwrap();
    assert_eq!(list.len(), 4);
    assert_counts_match_groups(&s, p).await;
}
