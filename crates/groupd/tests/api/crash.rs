//! Durability: a SIGKILL mid-stream loses no event that was answered 200.
use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;

use crate::helpers::*;

#[test]
fn sigkill_mid_stream_loses_no_acknowledged_event() {
    let app = TestApp::spawn_process(&[], &[]);
    let token = app.token();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (base, token, acked, stop) = (app.base.clone(), token.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                let deadline = Instant::now() + Duration::from_secs(20);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let uuids: Vec<String> = (0..20).map(|_| uuid::Uuid::new_v4().to_string()).collect();
                    let batch: Vec<_> = uuids
                        .iter()
                        .map(|u| json!({"event": "e", "distinct_id": "u", "uuid": u, "timestamp": "2026-05-01T00:00:00Z",
                                        "properties": {"$groups": {"company": "acme"}}}))
                        .collect();
                    let r = client.post(format!("{base}/batch/")).json(&json!({"api_key": token, "batch": batch})).send();
                    match r {
                        Ok(r) if r.status() == 200 => acked.lock().unwrap().extend(uuids),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let some batches through, then kill without warning.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 2000 && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (server, db) = app.into_process();
    server.signal("KILL");
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        s.join().unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 2000,
        "too few acknowledged events to mean anything: {}",
        acked.len()
    );

    // Restart on the same database (recovers the WAL) and count by uuid.
    drop(server);
    let _restarted = TestServer::start(&db, &[]);
    let stored: HashSet<String> = db.stored_events(None).into_iter().map(|e| e.2).collect();
    eprintln!(
        "acknowledged {} events, {} stored after the restart",
        acked.len(),
        stored.len()
    );
    let lost: Vec<&String> = acked.iter().filter(|u| !stored.contains(*u)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events lost",
        lost.len(),
        acked.len()
    );
}
