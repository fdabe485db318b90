//! HogQL execution: translated queries run read-only, cancelled at their deadline.
use std::{sync::Arc, time::Duration};

use groupd_core::ProjectId;
use serde_json::{Value, json};

use super::{SEC, T0, event, identify, project};
use crate::{IngestBatch, Store, StoreError};

/// Runs HogQL `q` for project `p`, cells rendered as JSON.
async fn run(s: &Arc<dyn Store>, p: ProjectId, q: &str) -> Vec<Vec<Value>> {
    let ctx = groupd_hogql::QueryContext::new(p.0, T0 + 10 * SEC);
    let t = groupd_hogql::translate(q, s.dialect(), &ctx).expect("translates");
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
        .collect()
}

/// `sql` as a translated query (the types of `SELECT 1`, no parameters).
fn raw(s: &Arc<dyn Store>, p: ProjectId, sql: &str) -> groupd_hogql::Translated {
    groupd_hogql::Translated {
        sql: sql.into(),
        params: vec![],
        ..groupd_hogql::translate(
            "SELECT 1",
            s.dialect(),
            &groupd_hogql::QueryContext::new(p.0, T0),
        )
        .unwrap()
    }
}

pub async fn queries_read_events_and_groups(s: Arc<dyn Store>) {
    let p = project(&s).await;
    s.ingest(
        p,
        IngestBatch {
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
    assert_eq!(
        run(
            &s,
            p,
            "SELECT event, count() AS n FROM events GROUP BY event ORDER BY event"
        )
        .await,
        vec![
            vec![json!("$groupidentify"), json!(1)],
            vec![json!("click"), json!(1)],
            vec![json!("pageview"), json!(2)]
        ]
    );
    assert_eq!(
        run(&s, p, "SELECT event, timestamp, $group_0 FROM events WHERE event != '$groupidentify' ORDER BY timestamp").await,
        vec![
            vec![json!("pageview"), json!("2026-05-01T00:00:00Z"), json!("acme")],
            vec![json!("pageview"), json!("2026-05-01T00:00:00.001500Z"), json!("")],
            vec![json!("click"), json!("2026-05-01T00:00:01Z"), json!("acme")],
        ]
    );
    assert_eq!(
        run(
            &s,
            p,
            "SELECT key, properties.name, properties.seats FROM groups"
        )
        .await,
        vec![vec![json!("acme"), json!("Acme"), json!(3)]]
    );
}

pub async fn a_statement_the_database_refuses_is_query_failed(s: Arc<dyn Store>) {
    let p = project(&s).await;
    // The query's own failure, not a server error.
    let bad = raw(&s, p, "SELECT * FROM no_such_table");
    assert!(matches!(
        s.run_query(bad, Duration::from_secs(5)).await,
        Err(StoreError::QueryFailed(_))
    ));
}

pub async fn long_queries_are_cancelled_at_the_deadline(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let slow = match s.dialect() {
        groupd_hogql::Dialect::Postgres => "SELECT count(*) FROM generate_series(1, 2000000000)",
        _ => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        }
    };
    let started = std::time::Instant::now();
    let r = s
        .run_query(raw(&s, p, slow), Duration::from_millis(300))
        .await;
    assert!(matches!(r, Err(StoreError::QueryTimeout)), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The connection that ran it is fine afterwards.
    s.health().await.unwrap();
}
