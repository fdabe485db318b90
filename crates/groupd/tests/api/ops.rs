//! `/_health`, `/metrics`, `/api/schema/`, unknown routes, graceful shutdown.
use serde_json::json;

use crate::helpers::*;

#[test]
fn health_answers_ok_when_the_database_does() {
    let app = TestApp::spawn();
    let got = read(app.client.get(app.url("/_health")).send().unwrap());
    assert_eq!(got, (200, json!({"status": "ok"})));
    let got = read(app.client.get(app.url("/_health/")).send().unwrap());
    assert_eq!(got.0, 200);
}

#[test]
fn metrics_expose_per_route_latency_histograms() {
    let app = TestApp::spawn();
    let r = app.get(&app.purl("/groups_types/")).send().unwrap();
    assert_eq!(r.status(), 200);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
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
fn schema_is_an_openapi_document_listing_the_groups_routes() {
    let app = TestApp::spawn();
    let (status, doc) = read(app.client.get(app.url("/api/schema/")).send().unwrap());
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

#[test]
fn unknown_paths_are_404_in_the_error_shape() {
    let app = TestApp::spawn();
    let got = read(app.get(&app.url("/api/nothing/here")).send().unwrap());
    assert_error(&got, 404, "not_found", "Not found.", None);
}

#[test]
fn sigterm_stops_the_server_cleanly_and_keeps_answered_writes() {
    let app = TestApp::spawn();
    let idx = app.create_type("company");
    app.create_group(idx, "acme", json!({"a": 1}));
    let TestApp {
        db,
        server,
        key,
        client,
        project,
        ..
    } = app;
    let pid = server.pid();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(server.wait(), Some(0), "groupd should exit 0 on SIGTERM");
    let server = TestServer::start(&db, &[]);
    let got = read(
        client
            .get(format!(
                "{}/api/projects/{}/groups/find?group_type_index=0&group_key=acme",
                server.base, project["id"]
            ))
            .bearer_auth(&key)
            .send()
            .unwrap(),
    );
    assert_eq!(got.0, 200);
    assert_eq!(got.1["group_properties"], json!({"a": 1}));
}
