//! `/_health`, `/metrics`, `/api/schema/`, unknown routes, graceful shutdown.
use serde_json::json;

use crate::helpers::*;

#[test]
fn health_answers_ok_when_the_database_does() {
    let app = TestApp::spawn();
    assert_eq!(
        app.anonymous().get(&app.url("/_health")),
        (200, json!({"status": "ok"}))
    );
    assert_eq!(app.anonymous().get(&app.url("/_health/")).0, 200);
}

#[test]
fn metrics_expose_per_route_latency_histograms() {
    let app = TestApp::spawn();
    assert_eq!(app.list_types().0, 200);
    let text = app.metrics();
    assert!(
        text.contains("groupd_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/projects/{project_id}/groups_types/""#),
        "{text}"
    );
}

#[test]
fn metrics_expose_the_write_queue_depth() {
    let app = TestApp::spawn();
    let event = json!({"api_key": app.token(), "event": "e", "distinct_id": "u"});
    assert_eq!(app.capture("/e/", &event).0, 200);
    let text = app.metrics();
    let line = text
        .lines()
        .find(|l| l.starts_with("groupd_write_queue_depth "))
        .unwrap_or_else(|| panic!("no write queue gauge: {text}"));
    let depth: f64 = line["groupd_write_queue_depth ".len()..]
        .trim()
        .parse()
        .unwrap();
    // Every write so far was answered, so none is waiting.
    assert_eq!(depth, 0.0, "{line}");
    assert!(
        text.contains("# TYPE groupd_write_queue_depth gauge"),
        "{text}"
    );
}

#[test]
fn schema_is_an_openapi_document_listing_the_groups_routes() {
    let app = TestApp::spawn();
    let (status, doc) = app.anonymous().get(&app.url("/api/schema/"));
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/projects/{project_id}/groups/",
        "/api/projects/{project_id}/groups/find",
        "/api/projects/{project_id}/groups_types/",
        "/api/projects/",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
}

/// The document passes `openapi-spec-validator` (what client generators rely on): unique
/// `operationId`s, a description on every response. `.ci/run` installs the validator.
#[test]
fn schema_is_valid_by_openapi_spec_validator() {
    let app = TestApp::spawn();
    let (status, doc) = app.anonymous().get(&app.url("/api/schema/"));
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator.shortcuts import get_validator_cls\n\
             d = json.load(open(sys.argv[1]))\n\
             errs = list(get_validator_cls(d)(d).iter_errors())\n\
             for e in errs: print(e.message, list(e.path))\n\
             sys.exit(1 if errs else 0)",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'openapi_spec_validator'"),
        "the validator is not installed: python3 -m pip install openapi-spec-validator (.ci/run does)"
    );
    assert!(
        out.status.success(),
        "invalid OpenAPI:\n{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unknown_paths_are_404_in_the_error_shape() {
    let app = TestApp::spawn();
    let got = app.get(&app.url("/api/nothing/here"));
    assert_not_found(&got);
}

#[test]
fn sigterm_stops_the_server_cleanly_and_keeps_answered_writes() {
    let app = TestApp::spawn_process(&[], &[]);
    let idx = app.new_type("company");
    app.new_group(idx, "acme", json!({"a": 1}));
    let api = ApiClient::clone(&app);
    let (server, db) = app.into_process();
    server.signal("TERM");
    assert_eq!(server.wait(), Some(0), "groupd should exit 0 on SIGTERM");
    let restarted = TestServer::start(&db, &[]);
    let got = api.on(&restarted.base).find(0, "acme");
    assert_eq!(got.0, 200);
    assert_eq!(got.1["group_properties"], json!({"a": 1}));
}
