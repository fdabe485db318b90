//! The change stream (lifecycle.md): kinds and shapes, what is no change, the JSON page with its
//! long poll, server-sent events with `Last-Event-ID` resume, retention and 410, and a gap-free
//! sequence under two servers writing at once.
use std::{
    io::{BufRead, BufReader},
    time::{Duration, Instant},
};

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::helpers::*;

fn page(app: &ApiClient, query: &str) -> (u16, Value) {
    app.get(&app.purl(&format!("/groups/changes?{query}")))
}

fn identify(app: &TestApp, key: &str, ts: &str, set: Value) {
    let (status, body) = app.capture(
        "/e/",
        &json!({"api_key": app.token(), "event": "$groupidentify", "distinct_id": "u",
                "timestamp": ts,
                "properties": {"$group_type": "company", "$group_key": key, "$group_set": set}}),
    );
    assert_eq!(status, 200, "{body}");
}

fn kinds(p: &Value) -> Vec<(i64, String)> {
    p["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["seq"].as_i64().unwrap(),
                c["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_change_of_current_state_is_one_numbered_entry_and_no_other_write_is() {
    let app = TestApp::spawn();
    identify(
        &app,
        "acme",
        "2026-05-02T00:00:00Z",
        json!({"plan": "pro", "seats": 3}),
    );
    identify(
        &app,
        "acme",
        "2026-05-03T00:00:00Z",
        json!({"plan": "enterprise"}),
    );
    // Late and equal writes change no current value: no entry.
    identify(
        &app,
        "acme",
        "2026-05-01T00:00:00Z",
        json!({"plan": "free"}),
    );
    identify(
        &app,
        "acme",
        "2026-05-04T00:00:00Z",
        json!({"plan": "enterprise"}),
    );
    let (status, _) = app.call("DELETE", &app.purl("/groups_types/0/groups/acme"));
    assert_eq!(status, 204);
    assert_eq!(app.delete_type("0").0, 204);

    let (status, p) = page(&app, "since=0");
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        kinds(&p),
        [
            (1, "created".into()),
            (2, "updated".into()),
            (3, "deleted".into()),
            (4, "type_deleted".into())
        ]
    );
    assert_eq!(
        (p["head"].as_i64(), p["next_since"].as_i64()),
        (Some(4), Some(4))
    );
    let r = &p["results"];
    assert_eq!(r[0]["group_type"], "company");
    assert_eq!(r[0]["group_key"], "acme");
    assert_eq!(
        r[0]["changes"],
        json!({"plan": {"old": null, "new": "pro"}, "seats": {"old": null, "new": 3}})
    );
    assert_eq!(r[0]["event_time"], "2026-05-02T00:00:00Z");
    assert_eq!(r[0]["recorded_at"], T0);
    assert_eq!(r[0]["source"]["kind"], "capture");
    assert_eq!(
        r[1]["changes"],
        json!({"plan": {"old": "pro", "new": "enterprise"}})
    );
    assert_eq!(
        r[2]["changes"],
        json!({"plan": {"old": "enterprise", "new": null}, "seats": {"old": 3, "new": null}})
    );
    assert_eq!(
        r[2]["source"],
        json!({"kind": "api", "key_label": "ci-key"})
    );
    assert_eq!(
        (r[3]["group_key"].clone(), r[3]["changes"].clone()),
        (Value::Null, json!({}))
    );
    assert_eq!(r[3]["group_type"], "company");

    // Paging, a type filter, `now`.
    let (_, p) = page(&app, "since=1&limit=2");
    assert_eq!(kinds(&p), [(2, "updated".into()), (3, "deleted".into())]);
    assert_eq!(p["next_since"], 3);
    let (_, p) = page(&app, "since=0&group_type_index=1");
    assert_eq!((kinds(&p).len(), p["next_since"].as_i64()), (0, Some(4)));
    let (_, p) = page(&app, "since=now");
    assert_eq!((kinds(&p).len(), p["head"].as_i64()), (0, Some(4)));
}

#[test]
fn the_query_is_checked() {
    let app = TestApp::spawn();
    for (q, attr) in [
        ("", "since"),
        ("since=x", "since"),
        ("since=-1", "since"),
        ("since=0&wait=31", "wait"),
        ("since=0&limit=0", "limit"),
    ] {
        let got = page(&app, q);
        assert_eq!(
            (got.0, got.1["attr"].as_str()),
            (400, Some(attr)),
            "{q}: {}",
            got.1
        );
    }
    let no_read = app.as_key(&app.new_key("w", "activity_log:read", &[]));
    assert_missing_scope(&page(&no_read, "since=0"), "group:read");
}

#[test]
fn a_long_poll_returns_as_soon_as_a_change_commits() {
    let app = TestApp::spawn();
    app.new_type("company");
    let client = (*app).clone();
    let started = Instant::now();
    let poll = std::thread::spawn(move || page(&client, "since=0&wait=20"));
    std::thread::sleep(Duration::from_millis(500));
    app.new_group(0, "acme", json!({"a": 1}));
    let (status, p) = poll.join().unwrap();
    assert_eq!(status, 200, "{p}");
    assert_eq!(kinds(&p), [(1, "created".into())]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Nothing new: the wait runs out with an empty page.
    let t = Instant::now();
    let (_, p) = page(&app, "since=1&wait=1");
    assert_eq!(kinds(&p).len(), 0);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
}

/// Reads SSE messages until `n` with an id arrived: `(id, event, data)`.
fn sse(
    app: &TestApp,
    query: &str,
    last_event_id: Option<&str>,
    n: usize,
) -> Vec<(i64, String, Value)> {
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut req = client
        .get(app.purl(&format!("/groups/changes?{query}")))
        .bearer_auth(&app.key)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let resp = req.send().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"),
        "{:?}",
        resp.headers()
    );
    let mut out = Vec::new();
    let (mut id, mut event, mut data) = (None, String::new(), String::new());
    for line in BufReader::new(resp).lines() {
        let line = line.unwrap();
        if line.is_empty() {
            if let Some(i) = id.take() {
                out.push((
                    i,
                    std::mem::take(&mut event),
                    serde_json::from_str(&data).unwrap(),
                ));
                data.clear();
                if out.len() == n {
                    break;
                }
            }
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.parse().unwrap());
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    out
}

#[test]
fn server_sent_events_follow_live_and_resume_after_the_last_event_id() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "a", json!({"n": 1}));
    app.new_group(0, "b", json!({"n": 2}));
    let writer = {
        let client = (*app).clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            client.update_property(
                "group_type_index=0&group_key=a",
                &json!({"key": "n", "value": 5}),
            )
        })
    };
    // Two kept, then one live.
    let got = sse(&app, "since=0", None, 3);
    assert_eq!(writer.join().unwrap().0, 200);
    let summary: Vec<(i64, &str)> = got.iter().map(|(i, e, _)| (*i, e.as_str())).collect();
    assert_eq!(
        summary,
        [
            (1, "group.created"),
            (2, "group.created"),
            (3, "group.updated")
        ]
    );
    assert_eq!(got[2].2["changes"], json!({"n": {"old": 1, "new": 5}}));
    assert_eq!(got[2].2["seq"], 3);
    // A reconnect resumes after its Last-Event-ID, which wins over `since`.
    let again = sse(&app, "since=0", Some("2"), 1);
    assert_eq!(again[0].0, 3);
    assert_eq!(again[0].2, got[2].2);
}

#[test]
fn an_idle_stream_sends_a_ping_comment() {
    let app = TestApp::spawn();
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let resp = client
        .get(app.purl("/groups/changes?since=now"))
        .bearer_auth(&app.key)
        .header("accept", "text/event-stream")
        .send()
        .unwrap();
    let t = Instant::now();
    let mut pings = 0;
    for line in BufReader::new(resp).lines() {
        if line.unwrap() == ": ping" {
            pings += 1;
            // The first comes at once (with the retry hint), the next within 15 s.
            if pings == 2 {
                break;
            }
        }
    }
    assert_eq!(pings, 2);
    assert!(t.elapsed() <= Duration::from_secs(17), "{:?}", t.elapsed());
}

#[test]
fn a_cursor_older_than_the_kept_changes_is_gone() {
    let app = TestApp::spawn_with(&["--change-retention-secs", "60"]);
    app.new_type("company");
    app.new_group(0, "a", json!({}));
    app.new_group(0, "b", json!({}));
    assert_eq!(page(&app, "since=0").0, 200);
    // Past the retention: pruned within 10 s.
    app.clock().set(T0_US + 120_000_000);
    let deadline = Instant::now() + Duration::from_secs(12);
    let got = loop {
        let got = page(&app, "since=0");
        if got.0 != 200 || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_error(
        &got,
        410,
        "cursor_expired",
        got.1["detail"].as_str().unwrap_or(""),
        Some("since"),
    );
    assert_eq!(got.1["type"], "invalid_request");
    // The head is still a valid place to resume from, and the numbering goes on.
    let (status, p) = page(&app, "since=2");
    assert_eq!((status, p["head"].as_i64()), (200, Some(2)));
    app.new_group(0, "c", json!({}));
    assert_eq!(kinds(&page(&app, "since=2").1), [(3, "created".into())]);
}

#[test]
fn two_servers_writing_at_once_number_their_changes_without_gaps_in_commit_order() {
    if backend() != Backend::Postgres {
        return;
    }
    let db = TestDb::new();
    let project = db.cli_create_project("stream");
    let token = project["api_token"].as_str().unwrap().to_owned();
    let pid = project["id"].as_i64().unwrap();
    let key = db.cli_create_key("reader", "*", &[]);
    let servers = [TestServer::start(&db, &[]), TestServer::start(&db, &[])];
    const WRITERS: usize = 4;
    const BATCHES: usize = 15;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let base = servers[w % 2].base.clone();
            let token = token.clone();
            std::thread::spawn(move || {
                let client = Client::new();
                for b in 0..BATCHES {
                    // Each event creates a new group: exactly one change each.
                    let batch: Vec<Value> = (0..5)
                        .map(|i| json!({"event": "$groupidentify", "distinct_id": "u",
                            "timestamp": "2026-05-01T00:00:00Z",
                            "properties": {"$group_type": "company", "$group_key": format!("w{w}-{b}-{i}"),
                                           "$group_set": {"n": i}}}))
                        .collect();
                    loop {
                        let r = client
                            .post(format!("{base}/batch/"))
                            .json(&json!({"api_key": token, "batch": batch}))
                            .send()
                            .unwrap();
                        if r.status().as_u16() != 503 {
                            assert_eq!(r.status().as_u16(), 200);
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        })
        .collect();
    // A reader following one server while both write: a seq assigned before the commit would let
    // it pass a seq that commits later, and that change would never be read.
    let reader = ApiClient::for_server(&servers[0].base, &key, pid);
    let total = (WRITERS * BATCHES * 5) as i64;
    let mut seen = Vec::new();
    let mut since = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while (seen.len() as i64) < total && Instant::now() < deadline {
        let (status, p) = page(&reader, &format!("since={since}&limit=1000&wait=2"));
        assert_eq!(status, 200, "{p}");
        for c in p["results"].as_array().unwrap() {
            seen.push(c["seq"].as_i64().unwrap());
        }
        since = p["next_since"].as_i64().unwrap();
    }
    for w in writers {
        w.join().unwrap();
    }
    let want: Vec<i64> = (1..=total).collect();
    assert_eq!(seen, want, "every seq once, in order, none skipped");
}
