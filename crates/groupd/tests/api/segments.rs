//! Columnar event segments: captured events move into Parquet segments with nothing lost or
//! doubled, a retry stays a duplicate after its event moved, a compaction that dies before its
//! commit loses nothing, and a database refuses a server with another data dir.
use std::{collections::BTreeMap, sync::Arc};

use groupd_analytics::segments::{
    CompactionConfig, CompactionReport, Compactor, ObjectStore, open_data_dir,
    writer::{Effort, from_batch, put_segment, read_segments, sort_by_time, to_batch},
};
use groupd_core::{Clock, ProjectId};
use groupd_store::{Partition, StoredEvent};
use serde_json::{Value, json};

use crate::helpers::*;

/// The app's segment store, as the server opened it.
fn segment_root(app: &TestApp) -> Arc<dyn ObjectStore> {
    let store = app.store();
    let dir = app.data_dir();
    app.block_on(open_data_dir(dir.as_deref(), store.as_ref()))
        .expect("the data dir")
        .1
}

/// One compaction now, of everything received up to the server's clock.
pub(crate) fn compact(app: &TestApp) -> CompactionReport {
    let config = CompactionConfig {
        min_age: std::time::Duration::ZERO,
        orphan_grace: std::time::Duration::ZERO,
        ..CompactionConfig::default()
    };
    let compactor = Compactor::new(app.store(), segment_root(app), config);
    // The clock stands still: what it received "now" counts as received before the run.
    app.block_on(compactor.run_once(app.clock().now_us() + 1))
        .expect("a compaction")
}

/// Every event of project 1, wherever it is: uuid → (event, group keys), and how many are
/// still in the row store. Panics on an event stored twice.
fn events_everywhere(app: &TestApp) -> (BTreeMap<String, (String, Vec<String>)>, usize) {
    let snap = app
        .block_on(app.store().events_snapshot(ProjectId(1), None))
        .unwrap();
    let mut all: Vec<StoredEvent> = snap.hot.clone();
    if !snap.segments.is_empty() {
        let paths: Vec<String> = snap.segments.iter().map(|s| s.path.clone()).collect();
        let batch = app
            .block_on(read_segments(&segment_root(app), &paths))
            .unwrap();
        all.extend(from_batch(&batch).unwrap());
    }
    let mut out = BTreeMap::new();
    for e in all {
        let mut keys = e.group_keys.clone();
        while keys.last().is_some_and(String::is_empty) {
            keys.pop();
        }
        let dup = out.insert(e.uuid.to_string(), (e.event.clone(), keys));
        assert!(dup.is_none(), "event {} stored twice", e.uuid);
    }
    (out, snap.hot.len())
}

fn uuid(n: usize) -> String {
    format!("0190c4a1-0000-7000-8000-{n:012}")
}

/// A batch of `n` events over two days and one `$groupidentify`.
fn batch(app: &TestApp, n: usize) -> Value {
    let mut events: Vec<Value> = (0..n)
        .map(|i| {
            json!({"event": format!("e{}", i % 4), "distinct_id": format!("u{i}"), "uuid": uuid(i),
                   "timestamp": format!("2026-05-{:02}T10:{:02}:{:02}Z", 1 + i % 2, i / 60 % 60, i % 60),
                   "properties": {"$groups": {"company": format!("c{}", i % 3)}, "i": i}})
        })
        .collect();
    events.push(
        json!({"event": "$groupidentify", "distinct_id": "u", "uuid": uuid(n),
                       "timestamp": "2026-05-01T09:00:00Z",
                       "properties": {"$group_type": "company", "$group_key": "c0",
                                      "$group_set": {"name": "Acme"}}}),
    );
    json!({"api_key": app.token(), "batch": events})
}

#[test]
fn compaction_keeps_every_captured_event_once() {
    let app = TestApp::spawn();
    assert_eq!(
        app.capture("/batch/", &batch(&app, 100)),
        (200, json!({"status": 1}))
    );
    let (before, hot) = events_everywhere(&app);
    assert_eq!((before.len(), hot), (101, 101));
    let report = compact(&app);
    assert_eq!(report.events_moved, 101);
    assert_eq!(report.segments_written, 2, "one segment per day");
    let (after, hot) = events_everywhere(&app);
    assert_eq!(hot, 0);
    assert_eq!(after, before);
    assert_eq!(after[&uuid(1)], ("e1".to_owned(), vec!["c1".to_owned()]));
    // An event answered after the compaction is in the next query's view at once.
    let one =
        json!({"api_key": app.token(), "event": "late", "distinct_id": "u", "uuid": uuid(500)});
    assert_eq!(app.capture("/e/", &one).0, 200);
    let (now, hot) = events_everywhere(&app);
    assert_eq!((now.len(), hot), (102, 1));
}

#[test]
fn a_retried_batch_after_compaction_is_still_a_duplicate() {
    let app = TestApp::spawn();
    let body = batch(&app, 20);
    assert_eq!(app.capture("/batch/", &body).0, 200);
    compact(&app);
    // The SDK retries the whole request, its identify changed in between: nothing is applied.
    let mut retry = body.clone();
    retry["batch"][20]["properties"]["$group_set"]["name"] = json!("Changed");
    assert_eq!(app.capture("/batch/", &retry), (200, json!({"status": 1})));
    let (all, hot) = events_everywhere(&app);
    assert_eq!((all.len(), hot), (21, 0));
    let (status, g) = app.find(0, "c0");
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["group_properties"], json!({"name": "Acme"}));
    let (_, act) = app.activity("group_type_index=0&group_key=c0");
    assert_eq!(act["total_count"], 1);
}

#[test]
fn a_compaction_that_dies_before_its_commit_loses_nothing() {
    let app = TestApp::spawn();
    assert_eq!(app.capture("/batch/", &batch(&app, 30)).0, 200);
    let (before, _) = events_everywhere(&app);
    // The segment of the first day is written; the process dies before the transaction.
    let store = app.store();
    let part = Partition::of(ProjectId(1), T0_US - 31 * 86_400_000_000);
    let moving = app
        .block_on(store.events_to_move(part, i64::MAX, 1000))
        .unwrap();
    assert!(!moving.is_empty());
    let events: Vec<_> = moving.into_iter().map(|m| m.event).collect();
    let batch = sort_by_time(&to_batch(&events).unwrap()).unwrap();
    let root = segment_root(&app);
    let orphan = app
        .block_on(put_segment(root.as_ref(), part, &batch, Effort::Thorough))
        .unwrap();
    assert_eq!(events_everywhere(&app), (before.clone(), 31));
    // A later run sweeps the orphan and moves each event once.
    let report = compact(&app);
    assert_eq!((report.files_removed, report.events_moved), (1, 31));
    assert_eq!(events_everywhere(&app), (before, 0));
    let listed = app.block_on(store.segment_paths()).unwrap();
    assert!(!listed.contains(&orphan.path));
}

#[test]
fn a_database_refuses_a_server_with_another_data_dir() {
    let app = TestApp::spawn();
    let elsewhere = tempfile::tempdir().unwrap();
    let other = elsewhere.path().join("segments").display().to_string();
    let out = std::process::Command::new(groupd_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &app.db.url,
        ])
        .args(["--data-dir", &other])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this database keeps its event segments"),
        "{stderr}"
    );
    match app.data_dir() {
        None => assert!(
            stderr.contains("start groupd without --data-dir"),
            "{stderr}"
        ),
        Some(d) => assert!(stderr.contains(&format!("--data-dir {d}")), "{stderr}"),
    }
}

/// Related groups and usage metrics walk events themselves: after a compaction they read the
/// segments and the hot tail together, and answer exactly as before it.
#[test]
fn related_groups_and_usage_metrics_see_compacted_events() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_type("project");
    app.new_group(0, "acme", json!({}));
    app.new_group(1, "p1", json!({}));
    let events: Vec<Value> = (0..6)
        .map(|i| {
            json!({"event": "seen", "distinct_id": format!("u{}", i % 3),
                   "timestamp": format!("2026-05-{:02}T12:00:00Z", 25 + i),
                   "properties": {"$groups": {"company": "acme", "project": "p1"}}})
        })
        .collect();
    let body = json!({"api_key": app.token(), "batch": events});
    assert_eq!(app.capture("/batch/", &body).0, 200);
    let metric = json!({"name": "Seen", "interval": 30, "filters": {"events": [{"id": "seen"}]}});
    let url = app.purl("/groups_types/0/metrics/");
    assert_eq!(app.call_json("POST", &url, &metric).0, 201);
    let ask = || {
        let related = app.get(&app.purl("/groups/related?group_type_index=0&id=acme"));
        let q = json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": 0, "group_key": "acme"}});
        let usage = app.call_json("POST", &app.purl("/query/"), &q);
        (related, usage)
    };
    let before = ask();
    assert_eq!(before.0.0, 200, "{}", before.0.1);
    assert_eq!(
        before.0.1.as_array().unwrap().len(),
        4,
        "3 people and p1: {}",
        before.0.1
    );
    assert_eq!(
        before.1.1["results"][0]["value"],
        json!(6.0),
        "{}",
        before.1.1
    );
    let report = compact(&app);
    assert_eq!(report.events_moved, 6);
    let (_, hot) = events_everywhere(&app);
    assert_eq!(hot, 0, "every event is in a segment now");
    assert_eq!(ask(), before);
}

#[test]
fn queries_by_group_and_time_read_segments_and_the_hot_tail_alike() {
    let app = TestApp::spawn();
    assert_eq!(app.capture("/batch/", &batch(&app, 300)).0, 200);
    assert_eq!(compact(&app).segments_written, 2, "one segment per day");
    // Six more of c1 on the second day stay in the row store.
    let hot: Vec<Value> = (0..6)
        .map(|i| {
            json!({"event": "late", "distinct_id": "u", "uuid": uuid(600 + i),
                   "timestamp": "2026-05-02T12:00:00Z", "properties": {"$groups": {"company": "c1"}}})
        })
        .collect();
    assert_eq!(
        app.capture("/batch/", &json!({"api_key": app.token(), "batch": hot}))
            .0,
        200
    );
    assert_eq!(events_everywhere(&app).1, 6);
    let count = |sql: &str| {
        let (s, body) = app.query(sql);
        assert_eq!(s, 200, "{sql}: {body}");
        body["results"].clone()
    };
    const DAY2: &str = "toDateTime('2026-05-02 00:00:00')";
    // c1 is every third event: 50 a day, plus the six hot ones on day 2.
    let c1 = "SELECT count() FROM events WHERE $group_0 = 'c1'";
    assert_eq!(count(c1), json!([[106]]));
    assert_eq!(
        count(&format!("{c1} AND timestamp >= {DAY2}")),
        json!([[56]])
    );
    assert_eq!(
        count(&format!("{c1} AND timestamp < {DAY2}")),
        json!([[50]])
    );
    assert_eq!(
        count(&format!(
            "{c1} AND timestamp >= toDateTime('2026-05-03 00:00:00')"
        )),
        json!([[0]])
    );
    assert_eq!(
        count("SELECT count() FROM events WHERE $group_0 = 'nope'"),
        json!([[0]])
    );
    let latest = count(&format!(
        "SELECT event FROM events WHERE $group_0 = 'c1' AND timestamp >= {DAY2} \
         ORDER BY timestamp DESC LIMIT 3"
    ));
    assert_eq!(latest, json!([["late"], ["late"], ["late"]]));
    // Two scans with different bounds read one snapshot that covers both: day 2 has 150 + 6,
    // day 1 150 and the $groupidentify.
    let both = count(&format!(
        "SELECT count() AS n FROM events WHERE timestamp >= {DAY2} \
         UNION ALL SELECT count() AS n FROM events WHERE timestamp < {DAY2}"
    ));
    let mut ns: Vec<i64> = both
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, [151, 156]);
}
