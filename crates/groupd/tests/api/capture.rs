//! Capture: real SDK requests replayed byte for byte, every decoding and shape, errors and
//! limits, idempotency, order-independent group merges, and event times against a fixed clock.
use std::io::Write;

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::helpers::*;

const FIXTURE_TOKEN: &str = "phc_fixtureToken0000000000000000000000000000";

/// A server whose project 2 carries the fixtures' token.
fn fixture_app() -> TestApp {
    let app = TestApp::spawn();
    let p = app.new_project_with_token("fixtures", FIXTURE_TOKEN);
    assert_eq!(p["id"], 2);
    app
}

fn fixtures(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sdk")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Sends one recorded request as it was sent.
fn replay(app: &TestApp, req: &Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut b = app
        .client
        .request(method, app.url(req["path"].as_str().unwrap()));
    for (k, v) in req["headers"].as_object().unwrap() {
        b = b.header(k, v.as_str().unwrap());
    }
    let body = STANDARD
        .decode(req["body_base64"].as_str().unwrap())
        .unwrap();
    read(b.body(body).send().unwrap())
}

/// Events stored for `project`, read from the database: (event, group_keys, uuid).
fn stored_events(app: &TestApp, project: i64) -> Vec<(String, Vec<String>, String)> {
    app.db.stored_events(Some(project))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn check_python_fixture_result(app: &TestApp) {
    let (_, types) = app.in_project(2).list_types();
    let names: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["group_type"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["company", "project"]);
    let (status, acme) = app.in_project(2).find(0, "acme-inc");
    assert_eq!(status, 200);
    assert_eq!(
        acme["group_properties"],
        json!({"name": "Acme", "employees": 11, "tags": ["b2b", "eu"]})
    );
    let (status, p1) = app.in_project(2).find(1, "p1");
    assert_eq!((status, p1["group_properties"].clone()), (200, json!({})));
    let events = stored_events(app, 2);
    let purchases: Vec<_> = events.iter().filter(|e| e.0 == "purchase").collect();
    assert_eq!(purchases.len(), 1);
    assert_eq!(purchases[0].1, ["acme-inc", "p1"]);
}

#[test]
fn posthog_python_plain_requests_create_the_groups() {
    let app = fixture_app();
    let reqs = fixtures("posthog-python-7.91.1.jsonl");
    for r in &reqs[..3] {
        assert_eq!(replay(&app, r), (200, json!({"status": 1})));
    }
    check_python_fixture_result(&app);
}

#[test]
fn posthog_python_gzip_requests_create_the_groups() {
    let app = fixture_app();
    let reqs = fixtures("posthog-python-7.91.1.jsonl");
    for r in &reqs[3..] {
        assert_eq!(r["headers"]["Content-Encoding"], "gzip");
        assert_eq!(replay(&app, r), (200, json!({"status": 1})));
    }
    check_python_fixture_result(&app);
}

#[test]
fn posthog_js_requests_decode_and_retries_store_nothing_twice() {
    let app = fixture_app();
    let reqs = fixtures("posthog-js-shaped.jsonl");
    assert_eq!(
        replay(&app, &reqs[0]),
        (200, json!({"status": 1})),
        "gzip as text/plain"
    );
    assert_eq!(
        replay(&app, &reqs[1]).0,
        204,
        "sendBeacon form with beacon=1"
    );
    assert_eq!(
        replay(&app, &reqs[2]),
        (200, json!({"status": 1})),
        "lz64 form"
    );
    let (status, globex) = app.in_project(2).find(0, "globex");
    assert_eq!(status, 200);
    assert_eq!(
        globex["group_properties"],
        json!({"name": "Globex", "plan": "enterprise"})
    );
    let events = stored_events(&app, 2);
    assert_eq!(events.len(), 2, "{events:?}");
    let pageview = events.iter().find(|e| e.0 == "$pageview").unwrap();
    assert_eq!(pageview.1, ["globex"]);
    // The retries changed no group either: one activity entry per property.
    let (_, act) = app
        .in_project(2)
        .activity("group_type_index=0&group_key=globex");
    assert_eq!(act["total_count"], 2);
    assert_eq!(
        act["results"][0]["user"],
        json!({"first_name": "System", "email": null, "is_system": true})
    );
}

#[test]
fn every_route_and_method_accepts_events() {
    let app = TestApp::spawn();
    let t = app.token();
    for (i, path) in [
        "/e", "/e/", "/i/v0/e/", "/capture", "/batch/", "/track", "/track/",
    ]
    .iter()
    .enumerate()
    {
        let body = json!({"api_key": t, "event": "hit", "distinct_id": "u", "uuid": uuid::Uuid::new_v4().to_string(), "properties": {"n": i}});
        assert_eq!(
            app.capture(path, &body),
            (200, json!({"status": 1})),
            "{path}"
        );
    }
    // GET with the payload in `data`, base64 without a hint.
    let data =
        STANDARD.encode(json!({"token": t, "event": "via-get", "distinct_id": "u"}).to_string());
    let url = app.url(&format!("/e/?data={}", urlencode(&data)));
    assert_eq!(app.anonymous().get(&url), (200, json!({"status": 1})));
    // /engage without `event` is an $identify.
    let engage = json!({"$token": t, "$distinct_id": "u", "$set": {"a": 1}});
    assert_eq!(app.capture("/engage/", &engage).0, 200);
    let events = stored_events(&app, 1);
    assert_eq!(events.len(), 9);
    assert!(events.iter().any(|e| e.0 == "via-get"));
    assert!(events.iter().any(|e| e.0 == "$identify"));
}

#[test]
fn batch_array_and_single_shapes_are_accepted() {
    let app = TestApp::spawn();
    let t = app.token();
    let ev = |name: &str| json!({"event": name, "distinct_id": "u", "properties": {"token": t}});
    assert_eq!(
        app.capture(
            "/batch/",
            &json!({"api_key": t, "batch": [ev("a"), ev("b")]})
        )
        .0,
        200
    );
    assert_eq!(app.capture("/batch/", &json!([ev("c"), ev("d")])).0, 200);
    assert_eq!(app.capture("/e/", &ev("e")).0, 200);
    assert_eq!(stored_events(&app, 1).len(), 5);
}

#[test]
fn gzip_is_recognised_by_hint_header_and_magic_bytes() {
    let app = TestApp::spawn();
    let body = gzip(
        json!({"api_key": app.token(), "batch": [{"event": "z", "distinct_id": "u"}]})
            .to_string()
            .as_bytes(),
    );
    let r = app
        .client
        .post(app.url("/batch/"))
        .header("content-encoding", "gzip")
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(read(r).0, 200);
    assert_eq!(
        app.capture_raw("/e/?compression=gzip-js", "text/plain", body.clone())
            .0,
        200
    );
    assert_eq!(app.capture_raw("/e/", "text/plain", body).0, 200);
    assert_eq!(stored_events(&app, 1).len(), 3);
}

#[test]
fn token_errors_are_401_with_the_spec_codes() {
    let app = TestApp::spawn();
    let got = app.capture("/e/", &json!({"event": "x", "distinct_id": "u"}));
    assert_error(
        &got,
        401,
        "missing_api_key",
        "API key not provided. You can find your project API key in your project settings.",
        None,
    );
    let got = app.capture(
        "/e/",
        &json!({"api_key": "phc_nope", "event": "x", "distinct_id": "u"}),
    );
    assert_error(
        &got,
        401,
        "invalid_api_key",
        "Project API key invalid. You can find your project API key in your project settings.",
        None,
    );
}

#[test]
fn one_bad_event_refuses_the_whole_request() {
    let app = TestApp::spawn();
    let t = app.token();
    let good = json!({"event": "ok", "distinct_id": "u"});
    let batch = json!({"api_key": t, "batch": [good, good, good, {"event": "bad"}]});
    let got = app.capture("/batch/", &batch);
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["code"], "invalid_payload");
    assert_eq!(got.1["detail"], "Event 3 of the batch has no distinct_id.");
    let got = app.capture(
        "/batch/",
        &json!({"api_key": t, "batch": [{"event": "x", "distinct_id": "u", "uuid": "not-a-uuid"}]}),
    );
    assert_eq!(
        (got.0, got.1["code"].clone()),
        (400, json!("invalid_payload"))
    );
    let got = app.capture("/batch/", &json!({"api_key": t, "batch": []}));
    assert_eq!(
        (got.0, got.1["detail"].clone()),
        (400, json!("Request holds no event."))
    );
    let got = app.capture_raw("/e/?compression=zstd", "text/plain", "abc");
    assert_eq!(got.0, 400);
    let got = app.capture_raw("/e/", "application/json", "{not json");
    assert_eq!(got.0, 400);
    assert!(stored_events(&app, 1).is_empty());
    // Only $performance_event: answered 200, nothing stored.
    let perf =
        json!({"api_key": t, "batch": [{"event": "$performance_event", "distinct_id": "u"}]});
    assert_eq!(app.capture("/batch/", &perf).0, 200);
    assert!(stored_events(&app, 1).is_empty());
}

#[test]
fn an_oversized_body_gets_a_readable_413() {
    let app = TestApp::spawn_with(&["--max-capture-body-bytes", "100000"]);
    let big = format!(
        r#"{{"api_key": "{}", "event": "x", "distinct_id": "u", "properties": {{"p": "{}"}}}}"#,
        app.token(),
        "x".repeat(150_000)
    );
    let got = app.capture_raw("/e/", "application/json", big);
    assert_eq!(got.0, 413, "{}", got.1);
    assert_eq!(got.1["code"], "payload_too_large");
}

#[test]
fn retried_requests_change_nothing() {
    let app = TestApp::spawn();
    let t = app.token();
    let body = json!({"api_key": t, "batch": [
        {"event": "$groupidentify", "distinct_id": "u", "uuid": "0190c4a1-0000-7000-8000-000000000001", "timestamp": "2026-05-01T10:00:00Z",
         "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"n": 1}}},
        {"event": "e", "distinct_id": "u", "uuid": "0190c4a1-0000-7000-8000-000000000002", "timestamp": "2026-05-01T10:00:01Z",
         "properties": {"$groups": {"company": "acme"}}}]});
    for _ in 0..3 {
        assert_eq!(app.capture("/batch/", &body), (200, json!({"status": 1})));
    }
    assert_eq!(stored_events(&app, 1).len(), 2);
    let (_, act) = app.activity("group_type_index=0&group_key=acme");
    assert_eq!(act["total_count"], 1);
    // Same uuid, different client timestamp: a different event.
    let mut other = body.clone();
    other["batch"][1]["timestamp"] = json!("2026-05-01T10:00:02Z");
    app.capture("/batch/", &other);
    assert_eq!(stored_events(&app, 1).len(), 3);
}

fn identify(t: &str, key: &str, ts: &str, props: Value) -> Value {
    let mut p = props;
    p["$group_type"] = json!("company");
    p["$group_key"] = json!(key);
    json!({"api_key": t, "event": "$groupidentify", "distinct_id": "u", "timestamp": ts, "properties": p})
}

#[test]
fn group_properties_do_not_depend_on_arrival_order() {
    let app = TestApp::spawn();
    let t = app.token();
    // Newest first, then an older set that must not overwrite it.
    app.capture(
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-02T00:00:00Z",
            json!({"$group_set": {"plan": "pro"}}),
        ),
    );
    app.capture(
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-01T00:00:00Z",
            json!({"$group_set": {"plan": "free", "seats": 3}}),
        ),
    );
    let (_, g) = app.in_project(1).find(0, "acme");
    assert_eq!(g["group_properties"], json!({"plan": "pro", "seats": 3}));
    assert_eq!(
        g["created_at"], "2026-05-01T00:00:00Z",
        "created_at is the earliest event time"
    );
    // An unset tombstone stops an older set.
    app.capture(
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-03T00:00:00Z",
            json!({"$group_unset": ["seats"]}),
        ),
    );
    app.capture(
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-02T12:00:00Z",
            json!({"$group_set": {"seats": 9}}),
        ),
    );
    let (_, g) = app.in_project(1).find(0, "acme");
    assert_eq!(g["group_properties"], json!({"plan": "pro"}));
    // set_once: only untouched keys, earliest wins.
    app.capture(
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-05T00:00:00Z",
            json!({"$group_set_once": {"first": "late", "plan": "x"}}),
        ),
    );
    app.capture(
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-04T00:00:00Z",
            json!({"$group_set_once": {"first": "early"}}),
        ),
    );
    let (_, g) = app.in_project(1).find(0, "acme");
    assert_eq!(
        g["group_properties"],
        json!({"plan": "pro", "first": "early"})
    );
}

#[test]
fn groups_exist_even_without_properties_and_skip_when_asked() {
    let app = TestApp::spawn();
    let t = app.token();
    app.capture(
        "/e/",
        &identify(&t, "bare", "2026-05-01T00:00:00Z", json!({})),
    );
    assert_eq!(
        app.in_project(1).find(0, "bare"),
        (200, app.in_project(1).find(0, "bare").1)
    );
    assert_eq!(
        app.in_project(1).find(0, "bare").1["group_properties"],
        json!({})
    );
    let skipped = identify(
        &t,
        "skipped",
        "2026-05-01T00:00:00Z",
        json!({"$process_person_profile": false, "$group_set": {"a": 1}}),
    );
    assert_eq!(app.capture("/e/", &skipped).0, 200);
    assert_eq!(app.in_project(1).find(0, "skipped").0, 404);
    // $groups alone never creates a group.
    app.capture("/e/",
        &json!({"api_key": t, "event": "x", "distinct_id": "u", "properties": {"$groups": {"company": "ghost"}}}),
    );
    assert_eq!(app.in_project(1).find(0, "ghost").0, 404);
}

#[test]
fn types_over_the_limit_are_warned_about_not_dropped_silently() {
    let app = TestApp::spawn_with(&["--max-group-types", "2"]);
    let t = app.token();
    let ev = json!({"api_key": t, "event": "x", "distinct_id": "u",
                    "properties": {"$groups": {"a": "1", "b": "2", "c": "3"}}});
    assert_eq!(app.capture("/e/", &ev).0, 200);
    let events = stored_events(&app, 1);
    assert_eq!(events[0].1, ["1", "2"]);
    let bad = json!({"api_key": t, "event": "$groupidentify", "distinct_id": "u", "properties": {"$group_type": "company"}});
    assert_eq!(
        app.capture("/e/", &bad).0,
        200,
        "semantic group problems do not fail the request"
    );
    let (status, w) = app.warnings();
    assert_eq!(status, 200);
    let kinds: Vec<&str> = w["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["invalid_group_identify", "group_type_limit_reached"]
    );
    assert_eq!(w["results"][1]["details"]["group_type"], "c");
}

#[test]
fn cors_mirrors_the_origin() {
    let app = TestApp::spawn();
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/e/"))
        .header("origin", "https://app.example.com")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let r = app
        .client
        .post(app.url("/e/"))
        .header("origin", "https://x.io")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://x.io");
}

/// Sends one event of `distinct_id` with `fields` (`timestamp`, `offset`, `properties`…), in a
/// batch sent at `sent_at`; the time it was stored with, as the query endpoint reads it.
fn event_time(app: &TestApp, distinct_id: &str, fields: Value, sent_at: Option<&str>) -> Value {
    let mut event = json!({"event": "e", "distinct_id": distinct_id});
    for (k, v) in fields.as_object().unwrap() {
        event[k] = v.clone();
    }
    let mut body = json!({"api_key": app.token(), "batch": [event]});
    if let Some(sent) = sent_at {
        body["sent_at"] = json!(sent);
    }
    assert_eq!(app.capture("/batch/", &body), (200, json!({"status": 1})));
    let (status, got) = app.query(&format!(
        "SELECT timestamp FROM events WHERE distinct_id = '{distinct_id}'"
    ));
    assert_eq!(status, 200, "{got}");
    got["results"][0][0].clone()
}

#[test]
fn event_times_are_corrected_for_client_clock_skew_against_the_server_clock() {
    let app = TestApp::spawn();
    // The client's clock runs 10 minutes ahead: its 23:00 is the server's 22:50.
    assert_eq!(
        event_time(
            &app,
            "skewed",
            json!({"timestamp": "2026-05-31T23:00:00Z"}),
            Some("2026-06-01T00:10:00Z")
        ),
        "2026-05-31T22:50:00Z"
    );
    // $ignore_sent_at takes the timestamp as sent.
    assert_eq!(
        event_time(
            &app,
            "ignored",
            json!({"timestamp": "2026-05-31T23:00:00Z", "properties": {"$ignore_sent_at": true}}),
            Some("2026-06-01T00:10:00Z")
        ),
        "2026-05-31T23:00:00Z"
    );
    // An offset counts back from the moment the server received the event.
    assert_eq!(
        event_time(&app, "offset", json!({"offset": 5000}), None),
        "2026-05-31T23:59:55Z"
    );
    // No time at all: the moment received, wherever the clock stands.
    assert_eq!(event_time(&app, "now", json!({}), None), T0);
    app.clock().set(T0_US + 3_600_000_000);
    assert_eq!(
        event_time(&app, "an-hour-later", json!({}), None),
        "2026-06-01T01:00:00Z"
    );
    // A group's first $groupidentify dates it at the time received too.
    let identify = json!({"api_key": app.token(), "event": "$groupidentify", "distinct_id": "u",
        "properties": {"$group_type": "company", "$group_key": "acme"}});
    assert_eq!(app.capture("/e/", &identify).0, 200);
    assert_eq!(app.find(0, "acme").1["created_at"], "2026-06-01T01:00:00Z");
}

#[test]
fn event_times_more_than_23_hours_ahead_of_the_server_clock_are_the_time_received() {
    let app = TestApp::spawn();
    for (id, timestamp, expected) in [
        ("within", "2026-06-01T22:59:59Z", "2026-06-01T22:59:59Z"),
        (
            "at-the-limit",
            "2026-06-01T23:00:00Z",
            "2026-06-01T23:00:00Z",
        ),
        ("beyond", "2026-06-01T23:00:01Z", T0),
        ("far-beyond", "2030-01-01T00:00:00Z", T0),
    ] {
        assert_eq!(
            event_time(&app, id, json!({"timestamp": timestamp}), None),
            expected,
            "{id}"
        );
    }
    // The cap applies after the skew correction: here the corrected time is 36 h ahead.
    assert_eq!(
        event_time(
            &app,
            "skewed-beyond",
            json!({"timestamp": "2026-06-02T12:00:00Z"}),
            Some("2026-06-01T00:00:00Z")
        ),
        T0
    );
}
