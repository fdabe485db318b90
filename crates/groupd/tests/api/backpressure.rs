//! A full write queue answers 503 with Retry-After (SDKs retry), and loses nothing it answered.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::json;

use crate::helpers::*;

#[test]
fn a_full_write_queue_answers_503_with_retry_after() {
    let db = TestDb::new();
    if db.url.starts_with("postgres") {
        // The PostgreSQL writer's queue honours GROUPD_WRITE_QUEUE too, but its batches drain the
        // queue faster than this load fills it; a heavier load belongs in the benchmarks.
        eprintln!("skipped on PostgreSQL: backpressure is exercised on the SQLite writer");
        return;
    }
    let project = db.cli_create_project("p");
    let token = project["api_token"].as_str().unwrap().to_owned();
    let server = TestServer::start_with_env(&db, &[], &[("GROUPD_WRITE_QUEUE", "1")]);
    // (status, Retry-After, the batch's uuids) per request.
    type Outcome = (u16, Option<String>, Vec<String>);
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (base, token, outcomes) = (server.base.clone(), token.clone(), outcomes.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                for _ in 0..10 {
                    let uuids: Vec<String> = (0..200).map(|_| uuid::Uuid::new_v4().to_string()).collect();
                    let batch: Vec<_> = uuids
                        .iter()
                        .map(|u| json!({"event": "e", "distinct_id": "u", "uuid": u, "timestamp": "2026-05-01T00:00:00Z"}))
                        .collect();
                    let r = client.post(format!("{base}/batch/")).json(&json!({"api_key": token, "batch": batch})).send().unwrap();
                    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                    outcomes.lock().unwrap().push((r.status().as_u16(), retry, uuids));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let outcomes = outcomes.lock().unwrap();
    let busy: Vec<_> = outcomes.iter().filter(|o| o.0 == 503).collect();
    assert!(
        !busy.is_empty(),
        "160 concurrent batches against a queue of one must meet backpressure"
    );
    assert!(
        busy.iter().all(|o| o.1.is_some()),
        "every 503 carries Retry-After"
    );
    assert!(
        outcomes.iter().all(|o| o.0 == 200 || o.0 == 503),
        "only 200 or 503"
    );
    let stored: std::collections::HashSet<String> =
        db.stored_events(None).into_iter().map(|e| e.2).collect();
    for o in outcomes.iter().filter(|o| o.0 == 200) {
        assert!(
            o.2.iter().all(|u| stored.contains(u)),
            "an answered batch is stored"
        );
    }
    for o in &busy {
        assert!(
            o.2.iter().all(|u| !stored.contains(u)),
            "a refused batch stores nothing"
        );
    }
}
