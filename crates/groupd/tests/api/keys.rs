//! Personal API keys: `/api/personal_api_keys/`, `/api/users/@me/`, `groupd key list|revoke`, and
//! what a key limited to projects may not do.
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

/// Polls `f` until it is true, for at most `limit`.
fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn field_names(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn a_key_limited_to_projects_cannot_create_projects() {
    let app = TestApp::spawn();
    let limited = app.as_key(&app.new_key("limited", "project:write", &[1]));
    let got = limited.create_project(&json!({"name": "Escape"}));
    assert_error(
        &got,
        403,
        "permission_denied",
        "API key is limited to projects and cannot create one.",
        None,
    );
    assert_eq!(app.list_projects().1["count"], 1, "nothing was created");
    // It still renames its own project, and an unlimited key still creates.
    assert_eq!(limited.patch_project("1", &json!({"name": "Mine"})).0, 200);
    let unlimited = app.as_key(&app.new_key("all", "project:write", &[]));
    assert_eq!(unlimited.create_project(&json!({"name": "New"})).0, 201);
}

#[test]
fn a_created_key_shows_its_secret_once_and_works() {
    let app = TestApp::spawn();
    let (status, created) = app.create_key(&json!({"label": "ci", "scopes": ["group:read"]}));
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        field_names(&created),
        [
            "created_at",
            "id",
            "label",
            "last_used_at",
            "mask_value",
            "scoped_teams",
            "scopes",
            "value"
        ]
    );
    let value = created["value"].as_str().unwrap();
    assert!(value.starts_with("phx_") && value.len() == 44, "{value}");
    assert_eq!(created["mask_value"], format!("phx_...{}", &value[40..]));
    assert_eq!(created["scopes"], json!(["group:read"]));
    assert_eq!(created["scoped_teams"], Value::Null);
    assert_eq!(created["label"], "ci");
    assert_eq!(created["created_at"], "2026-06-01T00:00:00Z");
    let minted = app.as_key(value);
    assert_eq!(minted.list_groups("group_type_index=0").0, 200);
    assert_missing_scope(&minted.create_group(&json!({})), "group:write");

    let (status, listed) = app.list_keys();
    assert_eq!(status, 200, "{listed}");
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .expect("listed");
    assert!(
        mine.get("value").is_none(),
        "the secret is shown only once: {mine}"
    );
    assert_eq!(mine["mask_value"], created["mask_value"]);
}

#[test]
fn keys_are_listed_newest_first() {
    let app = TestApp::spawn();
    let (_, a) = app.create_key(&json!({"label": "a", "scopes": ["*"]}));
    app.clock().set(T0_US + 5_000_000);
    let (_, b) = app.create_key(&json!({"label": "b", "scopes": ["*"], "scoped_teams": [1]}));
    let (_, listed) = app.list_keys();
    let ids: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["id"])
        .collect();
    // The harness's own `*` key (id 1) is the oldest.
    assert_eq!(ids, [&b["id"], &a["id"], &json!(1)]);
    assert_eq!(listed[0]["scoped_teams"], json!([1]));
    assert_eq!(listed[0]["created_at"], "2026-06-01T00:00:05Z");
}

#[test]
fn new_keys_are_validated_with_posthogs_messages() {
    let app = TestApp::spawn();
    assert_error(
        &app.create_key(&json!({"label": "x", "scopes": ["group:read", "insight:fly"]})),
        400,
        "invalid_input",
        "Invalid scope: insight:fly",
        Some("scopes"),
    );
    assert_error(
        &app.create_key(&json!({"scopes": ["*"]})),
        400,
        "required",
        "This field is required.",
        Some("label"),
    );
    assert_error(
        &app.create_key(&json!({"label": "x", "scopes": ["*"], "scoped_teams": [1, 99]})),
        400,
        "invalid_input",
        "You must be a member of all teams that you are scoping the key to.",
        Some("scoped_teams"),
    );
    assert_eq!(
        app.list_keys().1.as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

#[test]
fn a_key_never_mints_more_than_it_has() {
    let app = TestApp::spawn();
    app.new_project("Second");
    let narrow = app.as_key(&app.new_key("narrow", "personal_api_key:write,group:read", &[1]));
    assert_error(
        &narrow.create_key(&json!({"label": "q", "scopes": ["query:read"], "scoped_teams": [1]})),
        403,
        "permission_denied",
        "API key cannot grant scope 'query:read', which it does not have.",
        None,
    );
    assert_error(
        &narrow.create_key(&json!({"label": "w", "scopes": ["group:write"], "scoped_teams": [1]})),
        403,
        "permission_denied",
        "API key cannot grant scope 'group:write', which it does not have.",
        None,
    );
    for teams in [json!(null), json!([]), json!([1, 2]), json!([2])] {
        assert_error(
            &narrow.create_key(
                &json!({"label": "p", "scopes": ["group:read"], "scoped_teams": teams}),
            ),
            403,
            "permission_denied",
            "API key cannot grant access to projects it does not have.",
            None,
        );
    }
    let (status, ok) =
        narrow.create_key(&json!({"label": "ok", "scopes": ["group:read"], "scoped_teams": [1]}));
    assert_eq!(status, 201, "{ok}");
    // The narrow key sees itself and what it minted, never the wider `*` key.
    let (_, listed) = narrow.list_keys();
    let labels: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["ok", "narrow"]);
    assert_not_found(&narrow.delete_key("1"));
    assert_eq!(app.list_projects().0, 200, "the wide key still works");
}

#[test]
fn key_routes_need_their_scopes() {
    let app = TestApp::spawn();
    let reader = app.as_key(&app.new_key("r", "group:write", &[]));
    assert_missing_scope(&reader.list_keys(), "personal_api_key:read");
    assert_missing_scope(
        &reader.create_key(&json!({"label": "x", "scopes": ["group:read"]})),
        "personal_api_key:write",
    );
    let lister = app.as_key(&app.new_key("l", "personal_api_key:read", &[]));
    assert_eq!(lister.list_keys().0, 200);
    assert_missing_scope(&lister.delete_key("1"), "personal_api_key:write");
    assert_not_authenticated(&app.anonymous().list_keys());
}

#[test]
fn a_deleted_key_stops_working_within_a_second() {
    let app = TestApp::spawn();
    let (_, created) = app.create_key(&json!({"label": "gone", "scopes": ["group:read"]}));
    let gone = app.as_key(created["value"].as_str().unwrap());
    assert_eq!(gone.list_groups("group_type_index=0").0, 200);
    let id = created["id"].to_string();
    assert_eq!(app.delete_key(&id), (204, Value::Null));
    assert!(
        within(Duration::from_millis(1100), || gone
            .list_groups("group_type_index=0")
            .0
            == 401),
        "the revoked key still works after a second"
    );
    assert_authentication_failed(
        &gone.list_groups("group_type_index=0"),
        "Authorization header",
    );
    assert_not_found(&app.delete_key(&id));
    assert_not_found(&app.delete_key("9999"));
    assert_not_found(&app.delete_key("abc"));
    let (_, listed) = app.list_keys();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["id"] != created["id"])
    );
}

#[test]
fn a_key_revoked_on_one_server_stops_on_another_within_a_second() {
    let app = TestApp::spawn();
    let second = TestServer::start(&app.db, &[]);
    let key = app.new_key("shared", "group:read", &[]);
    let there = ApiClient::for_server(&second.base, &key, 1);
    assert_eq!(there.list_groups("group_type_index=0").0, 200);
    let id = app
        .list_keys()
        .1
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["label"] == "shared")
        .unwrap()["id"]
        .to_string();
    let revoked_at = Instant::now();
    assert_eq!(app.delete_key(&id).0, 204);
    while there.list_groups("group_type_index=0").0 != 401 {
        assert!(
            revoked_at.elapsed() < Duration::from_millis(1100),
            "still accepted on the second server after a second"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn retrieve_finds_one_key_and_current_is_the_caller() {
    let app = TestApp::spawn();
    let (status, me) = app.get(&app.url("/api/personal_api_keys/@current/"));
    assert_eq!(status, 200, "{me}");
    assert_eq!((&me["id"], &me["label"]), (&json!(1), &json!("ci-key")));
    let (status, one) = app.get(&app.url("/api/personal_api_keys/1"));
    assert_eq!(status, 200, "{one}");
    // `last_used_at` is recorded in the background, so may differ between the two reads.
    for f in [
        "id",
        "label",
        "scopes",
        "scoped_teams",
        "created_at",
        "mask_value",
    ] {
        assert_eq!(one[f], me[f], "{f}");
    }
    assert_not_found(&app.get(&app.url("/api/personal_api_keys/77/")));
    assert_method_not_allowed(
        &app.call("PUT", &app.url("/api/personal_api_keys/1/")),
        "PUT",
    );
}

#[test]
fn users_me_describes_any_valid_key() {
    let app = TestApp::spawn();
    app.new_project("Second");
    let key = app.as_key(&app.new_key("Query bot", "query:read", &[2]));
    for path in ["/api/users/@me/", "/api/users/@me"] {
        let (status, body) = key.get(&app.url(path));
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["first_name"], "Query bot");
        assert_eq!(body["email"], Value::Null);
        assert_eq!(body["team"], json!({"id": 2}));
        assert!(body["organization"]["id"].is_string(), "{body}");
        assert!(body["id"].is_i64(), "{body}");
    }
    assert_eq!(app.me().1["team"], json!({"id": 1}));
    assert_not_authenticated(&app.anonymous().me());
    assert_authentication_failed(
        &app.as_key("phx_unknownunknownunknownunknownunknown1234")
            .me(),
        "Authorization header",
    );
}

#[test]
fn a_key_used_records_its_last_use_to_the_minute() {
    let app = TestApp::spawn();
    let key = app.new_key("used", "group:read,personal_api_key:read", &[]);
    let user = app.as_key(&key);
    app.clock().set(T0_US + 90_000_000);
    assert_eq!(user.list_groups("group_type_index=0").0, 200);
    let last_used = || {
        app.list_keys()
            .1
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["label"] == "used")
            .unwrap()["last_used_at"]
            .clone()
    };
    assert!(
        within(Duration::from_secs(3), || last_used()
            == "2026-06-01T00:01:00Z"),
        "last_used_at: {}",
        last_used()
    );
}

#[test]
fn the_cli_lists_and_revokes_keys() {
    let app = TestApp::spawn();
    let key = app.db.cli_create_key("cli", "group:read", &[1]);
    let (ok, out, err) = app.db.cli(&["key", "list"]);
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    let cli = &lines[1];
    assert_eq!(
        field_names(cli),
        [
            "created_at",
            "id",
            "label",
            "last_used_at",
            "mask_value",
            "projects",
            "scopes"
        ]
    );
    assert_eq!(cli["label"], "cli");
    assert_eq!(cli["projects"], json!([1]));
    assert_eq!(cli["mask_value"], format!("phx_...{}", &key[40..]));
    assert!(!out.contains(&key), "the secret is never listed");

    let user = app.as_key(&key);
    assert_eq!(user.list_groups("group_type_index=0").0, 200);
    let id = cli["id"].to_string();
    let (code, out, err) = app.db.cli_exit(&["key", "revoke", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap(),
        json!({"id": cli["id"], "revoked": true})
    );
    assert!(within(Duration::from_millis(1100), || user
        .list_groups("group_type_index=0")
        .0
        == 401));
    let (_, out, _) = app.db.cli(&["key", "list"]);
    assert_eq!(out.lines().count(), 1, "revoked keys are not listed: {out}");

    let (code, out, err) = app.db.cli_exit(&["key", "revoke", &id]);
    assert_eq!(code, Some(2), "revoking twice: {out} {err}");
    assert!(err.contains(&format!("no live key has id {id}")), "{err}");
    assert!(out.is_empty());
}

#[test]
fn the_cli_lists_projects_one_line_each() {
    let app = TestApp::spawn();
    let second = app.new_project("Second");
    let (ok, out, err) = app.db.cli(&["project", "list"]);
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, [app.project.clone(), second]);
}
