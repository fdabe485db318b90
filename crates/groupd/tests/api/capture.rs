//! Capture (spec capture.md): real SDK requests replayed byte for byte, every decoding and shape,
//! errors and limits, idempotency and order-independent group merges.
use std::io::Write;

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::helpers::*;

const FIXTURE_TOKEN: &str = "phc_fixtureToken0000000000000000000000000000";

/// A server whose project 2 carries the fixtures' token.
fn fixture_app() -> TestApp {
    let app = TestApp::spawn();
    let (ok, _, err) = app.db.cli(&[
        "project",
        "create",
        "--name",
        "fixtures",
        "--api-token",
        FIXTURE_TOKEN,
    ]);
    assert!(ok, "{err}");
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

/// Posts a body to a capture path.
fn post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::blocking::Body>,
) -> (u16, Value) {
    read(
        app.client
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .unwrap(),
    )
}

fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    post(app, path, "application/json", body.to_string())
}

/// Events stored for `project`, read from the database: (event, group_keys, uuid).
fn stored_events(app: &TestApp, project: i64) -> Vec<(String, Vec<String>, String)> {
    app.db.stored_events(Some(project))
}

fn find(app: &TestApp, project: i64, index: i64, key: &str) -> (u16, Value) {
    read(
        app.get(&app.url(&format!(
            "/api/projects/{project}/groups/find?group_type_index={index}&group_key={key}"
        )))
        .send()
        .unwrap(),
    )
}

fn token(app: &TestApp) -> String {
    app.project["api_token"].as_str().unwrap().to_owned()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn check_python_fixture_result(app: &TestApp) {
    let (_, types) = read(
        app.get(&app.url("/api/projects/2/groups_types/"))
            .send()
            .unwrap(),
    );
    let names: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["group_type"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["company", "project"]);
    let (status, acme) = find(app, 2, 0, "acme-inc");
    assert_eq!(status, 200);
    assert_eq!(
        acme["group_properties"],
        json!({"name": "Acme", "employees": 11, "tags": ["b2b", "eu"]})
    );
    let (status, p1) = find(app, 2, 1, "p1");
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
    let (status, globex) = find(&app, 2, 0, "globex");
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
    let (_, act) = read(
        app.get(&app.url("/api/projects/2/groups/activity?group_type_index=0&group_key=globex"))
            .send()
            .unwrap(),
    );
    assert_eq!(act["total_count"], 2);
    assert_eq!(
        act["results"][0]["user"],
        json!({"first_name": "System", "email": null, "is_system": true})
    );
}

#[test]
fn every_route_and_method_accepts_events() {
    let app = TestApp::spawn();
    let t = token(&app);
    for (i, path) in [
        "/e", "/e/", "/i/v0/e/", "/capture", "/batch/", "/track", "/track/",
    ]
    .iter()
    .enumerate()
    {
        let body = json!({"api_key": t, "event": "hit", "distinct_id": "u", "uuid": uuid::Uuid::new_v4().to_string(), "properties": {"n": i}});
        assert_eq!(
            post_json(&app, path, &body),
            (200, json!({"status": 1})),
            "{path}"
        );
    }
    // GET with the payload in `data`, base64 without a hint.
    let data =
        STANDARD.encode(json!({"token": t, "event": "via-get", "distinct_id": "u"}).to_string());
    let url = app.url(&format!("/e/?data={}", crate::groups::urlencode(&data)));
    assert_eq!(
        read(app.client.get(url).send().unwrap()),
        (200, json!({"status": 1}))
    );
    // /engage without `event` is an $identify.
    let engage = json!({"$token": t, "$distinct_id": "u", "$set": {"a": 1}});
    assert_eq!(post_json(&app, "/engage/", &engage).0, 200);
    let events = stored_events(&app, 1);
    assert_eq!(events.len(), 9);
    assert!(events.iter().any(|e| e.0 == "via-get"));
    assert!(events.iter().any(|e| e.0 == "$identify"));
}

#[test]
fn batch_array_and_single_shapes_are_accepted() {
    let app = TestApp::spawn();
    let t = token(&app);
    let ev = |name: &str| json!({"event": name, "distinct_id": "u", "properties": {"token": t}});
    assert_eq!(
        post_json(
            &app,
            "/batch/",
            &json!({"api_key": t, "batch": [ev("a"), ev("b")]})
        )
        .0,
        200
    );
    assert_eq!(
        post_json(&app, "/batch/", &json!([ev("c"), ev("d")])).0,
        200
    );
    assert_eq!(post_json(&app, "/e/", &ev("e")).0, 200);
    assert_eq!(stored_events(&app, 1).len(), 5);
}

#[test]
fn gzip_is_recognised_by_hint_header_and_magic_bytes() {
    let app = TestApp::spawn();
    let body = gzip(
        json!({"api_key": token(&app), "batch": [{"event": "z", "distinct_id": "u"}]})
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
        post(&app, "/e/?compression=gzip-js", "text/plain", body.clone()).0,
        200
    );
    assert_eq!(post(&app, "/e/", "text/plain", body).0, 200);
    assert_eq!(stored_events(&app, 1).len(), 3);
}

#[test]
fn token_errors_are_401_with_the_spec_codes() {
    let app = TestApp::spawn();
    let got = post_json(&app, "/e/", &json!({"event": "x", "distinct_id": "u"}));
    assert_error(
        &got,
        401,
        "missing_api_key",
        "API key not provided. You can find your project API key in your project settings.",
        None,
    );
    let got = post_json(
        &app,
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
    let t = token(&app);
    let good = json!({"event": "ok", "distinct_id": "u"});
    let batch = json!({"api_key": t, "batch": [good, good, good, {"event": "bad"}]});
    let got = post_json(&app, "/batch/", &batch);
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["code"], "invalid_payload");
    assert_eq!(got.1["detail"], "Event 3 of the batch has no distinct_id.");
    let got = post_json(
        &app,
        "/batch/",
        &json!({"api_key": t, "batch": [{"event": "x", "distinct_id": "u", "uuid": "not-a-uuid"}]}),
    );
    assert_eq!(
        (got.0, got.1["code"].clone()),
        (400, json!("invalid_payload"))
    );
    let got = post_json(&app, "/batch/", &json!({"api_key": t, "batch": []}));
    assert_eq!(
        (got.0, got.1["detail"].clone()),
        (400, json!("Request holds no event."))
    );
    let got = post(&app, "/e/?compression=zstd", "text/plain", "abc");
    assert_eq!(got.0, 400);
    let got = post(&app, "/e/", "application/json", "{not json");
    assert_eq!(got.0, 400);
    assert!(stored_events(&app, 1).is_empty());
    // Only $performance_event: answered 200, nothing stored.
    let perf =
        json!({"api_key": t, "batch": [{"event": "$performance_event", "distinct_id": "u"}]});
    assert_eq!(post_json(&app, "/batch/", &perf).0, 200);
    assert!(stored_events(&app, 1).is_empty());
}

#[test]
fn an_oversized_body_gets_a_readable_413() {
    let app = TestApp::spawn_with(&["--max-capture-body-bytes", "100000"]);
    let big = format!(
        r#"{{"api_key": "{}", "event": "x", "distinct_id": "u", "properties": {{"p": "{}"}}}}"#,
        token(&app),
        "x".repeat(150_000)
    );
    let got = post(&app, "/e/", "application/json", big);
    assert_eq!(got.0, 413, "{}", got.1);
    assert_eq!(got.1["code"], "payload_too_large");
}

#[test]
fn retried_requests_change_nothing() {
    let app = TestApp::spawn();
    let t = token(&app);
    let body = json!({"api_key": t, "batch": [
        {"event": "$groupidentify", "distinct_id": "u", "uuid": "0190c4a1-0000-7000-8000-000000000001", "timestamp": "2026-05-01T10:00:00Z",
         "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"n": 1}}},
        {"event": "e", "distinct_id": "u", "uuid": "0190c4a1-0000-7000-8000-000000000002", "timestamp": "2026-05-01T10:00:01Z",
         "properties": {"$groups": {"company": "acme"}}}]});
    for _ in 0..3 {
        assert_eq!(
            post_json(&app, "/batch/", &body),
            (200, json!({"status": 1}))
        );
    }
    assert_eq!(stored_events(&app, 1).len(), 2);
    let (_, act) = read(
        app.get(&app.purl("/groups/activity?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
    assert_eq!(act["total_count"], 1);
    // Same uuid, different client timestamp: a different event.
    let mut other = body.clone();
    other["batch"][1]["timestamp"] = json!("2026-05-01T10:00:02Z");
    post_json(&app, "/batch/", &other);
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
    let t = token(&app);
    // Newest first, then an older set that must not overwrite it.
    post_json(
        &app,
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-02T00:00:00Z",
            json!({"$group_set": {"plan": "pro"}}),
        ),
    );
    post_json(
        &app,
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-01T00:00:00Z",
            json!({"$group_set": {"plan": "free", "seats": 3}}),
        ),
    );
    let (_, g) = find(&app, 1, 0, "acme");
    assert_eq!(g["group_properties"], json!({"plan": "pro", "seats": 3}));
    assert_eq!(
        g["created_at"], "2026-05-01T00:00:00Z",
        "created_at is the earliest event time"
    );
    // An unset tombstone stops an older set.
    post_json(
        &app,
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-03T00:00:00Z",
            json!({"$group_unset": ["seats"]}),
        ),
    );
    post_json(
        &app,
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-02T12:00:00Z",
            json!({"$group_set": {"seats": 9}}),
        ),
    );
    let (_, g) = find(&app, 1, 0, "acme");
    assert_eq!(g["group_properties"], json!({"plan": "pro"}));
    // set_once: only untouched keys, earliest wins.
    post_json(
        &app,
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-05T00:00:00Z",
            json!({"$group_set_once": {"first": "late", "plan": "x"}}),
        ),
    );
    post_json(
        &app,
        "/e/",
        &identify(
            &t,
            "acme",
            "2026-05-04T00:00:00Z",
            json!({"$group_set_once": {"first": "early"}}),
        ),
    );
    let (_, g) = find(&app, 1, 0, "acme");
    assert_eq!(
        g["group_properties"],
        json!({"plan": "pro", "first": "early"})
    );
}

#[test]
fn groups_exist_even_without_properties_and_skip_when_asked() {
    let app = TestApp::spawn();
    let t = token(&app);
    post_json(
        &app,
        "/e/",
        &identify(&t, "bare", "2026-05-01T00:00:00Z", json!({})),
    );
    assert_eq!(find(&app, 1, 0, "bare"), (200, find(&app, 1, 0, "bare").1));
    assert_eq!(find(&app, 1, 0, "bare").1["group_properties"], json!({}));
    let skipped = identify(
        &t,
        "skipped",
        "2026-05-01T00:00:00Z",
        json!({"$process_person_profile": false, "$group_set": {"a": 1}}),
    );
    assert_eq!(post_json(&app, "/e/", &skipped).0, 200);
    assert_eq!(find(&app, 1, 0, "skipped").0, 404);
    // $groups alone never creates a group.
    post_json(
        &app,
        "/e/",
        &json!({"api_key": t, "event": "x", "distinct_id": "u", "properties": {"$groups": {"company": "ghost"}}}),
    );
    assert_eq!(find(&app, 1, 0, "ghost").0, 404);
}

#[test]
fn types_over_the_limit_are_warned_about_not_dropped_silently() {
    let app = TestApp::spawn_with(&["--max-group-types", "2"]);
    let t = token(&app);
    let ev = json!({"api_key": t, "event": "x", "distinct_id": "u",
                    "properties": {"$groups": {"a": "1", "b": "2", "c": "3"}}});
    assert_eq!(post_json(&app, "/e/", &ev).0, 200);
    let events = stored_events(&app, 1);
    assert_eq!(events[0].1, ["1", "2"]);
    let bad = json!({"api_key": t, "event": "$groupidentify", "distinct_id": "u", "properties": {"$group_type": "company"}});
    assert_eq!(
        post_json(&app, "/e/", &bad).0,
        200,
        "semantic group problems do not fail the request"
    );
    let (status, w) = read(app.get(&app.purl("/ingestion_warnings")).send().unwrap());
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
