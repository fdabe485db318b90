//! Personal API keys: where they are found, what their scopes grant, the order of the checks
//! (401, then 404/403 for the project, then 403 for the scope, then 400), and `groupd key
//! create`.
use std::{
    process::Command,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::*;

/// A well-formed key that no database holds.
const UNKNOWN_KEY: &str = "phx_0000000000000000000000000000000000000000";

fn missing_scope(scope: &str) -> String {
    format!("API key missing required scope '{scope}'")
}

fn is_key(s: &str) -> bool {
    s.len() == 44 && s.starts_with("phx_") && s[4..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// An app with a type `company` (index 0) holding the group `acme`.
fn app_with_group() -> TestApp {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"plan": "pro"}));
    app
}

#[test]
fn no_credentials_is_401_not_authenticated() {
    let app = app_with_group();
    for url in [
        app.purl("/groups_types/"),
        app.purl("/groups/?group_type_index=0"),
        app.purl("/groups/find?group_type_index=0&group_key=acme"),
        app.url("/api/projects/"),
        app.url("/api/projects/1/"),
    ] {
        let got = app.anonymous().get(&url);
        assert_not_authenticated(&got);
        assert_eq!(got.1["type"], "authentication_error");
    }
    let got = app
        .anonymous()
        .create_group(&json!({"group_type_index": 0, "group_key": "anon"}));
    assert_not_authenticated(&got);
    let find = app.find_group("group_type_index=0&group_key=anon");
    assert_eq!(find.0, 404, "an unauthenticated create stored a group");
}

#[test]
fn an_unknown_key_in_the_authorization_header_is_401_authentication_failed() {
    let app = app_with_group();
    let got = app.as_key(UNKNOWN_KEY).list_types();
    assert_authentication_failed(&got, "Authorization header");
    assert_eq!(got.1["type"], "authentication_error");
    // Anything after `Bearer` is the key, whatever it looks like.
    let got = app.as_key("nonsense").list_types();
    assert_eq!(got.1["code"], "authentication_failed", "{}", got.1);
}

#[test]
fn an_unknown_key_in_the_body_is_401_naming_the_body() {
    let app = app_with_group();
    let got = app.anonymous().create_group(
        &json!({"personal_api_key": UNKNOWN_KEY, "group_type_index": 0, "group_key": "b"}),
    );
    assert_authentication_failed(&got, "body");
    let find = app.find_group("group_type_index=0&group_key=b");
    assert_eq!(find.0, 404);
}

#[test]
fn an_unknown_key_in_the_query_string_is_401_naming_the_query_string() {
    let app = app_with_group();
    let got = app
        .anonymous()
        .get(&app.purl(&format!("/groups_types/?personal_api_key={UNKNOWN_KEY}")));
    assert_authentication_failed(&got, "query string");
}

#[test]
fn a_valid_key_works_from_the_body_and_from_the_query_string() {
    let app = app_with_group();
    let (status, body) = app.anonymous().create_group(
        &json!({"personal_api_key": app.key, "group_type_index": 0, "group_key": "via-body"}),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["group_properties"],
        json!({}),
        "the key is not a property"
    );
    let (status, body) = app.anonymous().get(&app.purl(&format!(
        "/groups/find?group_type_index=0&group_key=via-body&personal_api_key={}",
        app.key
    )));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["group_key"], "via-body");
    // Form bodies are flat and may carry the key too.
    let (status, body) = app.anonymous().call_raw(
        "POST",
        &app.purl("/groups/"),
        "application/x-www-form-urlencoded",
        format!(
            "personal_api_key={}&group_type_index=0&group_key=via-form",
            app.key
        ),
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn the_authorization_header_is_looked_at_first() {
    let app = app_with_group();
    let url = |q: &str| {
        app.purl(&format!(
            "/groups/find?group_type_index=0&group_key=acme&personal_api_key={q}"
        ))
    };
    // A valid header wins over an invalid query key...
    let got = app.get(&url(UNKNOWN_KEY));
    assert_eq!(got.0, 200, "{}", got.1);
    // ...and an invalid header is the match even when the query key is valid: first match wins.
    let got = app.as_key(UNKNOWN_KEY).get(&url(&app.key));
    assert_authentication_failed(&got, "Authorization header");
}

#[test]
fn the_body_is_looked_at_before_the_query_string() {
    let app = app_with_group();
    let url = |q: &str| app.purl(&format!("/groups/?personal_api_key={q}"));
    let got = app.anonymous().call_json(
        "POST",
        &url(UNKNOWN_KEY),
        &json!({"personal_api_key": app.key, "group_type_index": 0, "group_key": "body-wins"}),
    );
    assert_eq!(got.0, 201, "{}", got.1);
    let got = app.anonymous().call_json(
        "POST",
        &url(&app.key),
        &json!({"personal_api_key": UNKNOWN_KEY, "group_type_index": 0, "group_key": "body-bad"}),
    );
    assert_authentication_failed(&got, "body");
}

#[test]
fn group_read_may_list_and_find_but_not_write() {
    let app = app_with_group();
    let key = app.new_key("reader", "group:read", &[]);
    let get = |path: &str| app.as_key(&key).get(&app.purl(path));
    for path in [
        "/groups_types/",
        "/groups/?group_type_index=0",
        "/groups/find?group_type_index=0&group_key=acme",
        "/groups/property_definitions",
        "/groups/property_values?group_type_index=0&key=plan",
    ] {
        assert_eq!(get(path).0, 200, "{path}");
    }
    let post = |path: &str, body: Value| app.as_key(&key).call_json("POST", &app.purl(path), &body);
    for (path, body) in [
        (
            "/groups/",
            json!({"group_type_index": 0, "group_key": "new"}),
        ),
        (
            "/groups/update_property?group_type_index=0&group_key=acme",
            json!({"key": "plan", "value": "free"}),
        ),
        (
            "/groups/delete_property?group_type_index=0&group_key=acme",
            json!({"$unset": "plan"}),
        ),
        ("/groups_types/", json!({"group_type": "team"})),
    ] {
        assert_error(
            &post(path, body),
            403,
            "permission_denied",
            &missing_scope("group:write"),
            None,
        );
    }
    assert_missing_scope(
        &get("/groups/activity?group_type_index=0&group_key=acme"),
        "activity_log:read",
    );
    let got = app.as_key(&key).list_projects();
    assert_missing_scope(&got, "project:read");
    // Nothing changed.
    let (_, g) = app.find_group("group_type_index=0&group_key=acme");
    assert_eq!(g["group_properties"], json!({"plan": "pro"}));
    let (_, types) = app.list_types();
    assert_eq!(types.as_array().unwrap().len(), 1);
}

#[test]
fn group_write_implies_group_read() {
    let app = app_with_group();
    let key = app.new_key("writer", "group:write", &[]);
    let get = |path: &str| app.as_key(&key).get(&app.purl(path));
    assert_eq!(get("/groups_types/").0, 200);
    assert_eq!(get("/groups/?group_type_index=0").0, 200);
    assert_eq!(get("/groups/find?group_type_index=0&group_key=acme").0, 200);
    let got = app
        .as_key(&key)
        .create_group(&json!({"group_type_index": 0, "group_key": "w"}));
    assert_eq!(got.0, 201, "{}", got.1);
    // But not the activity log.
    assert_missing_scope(
        &get("/groups/activity?group_type_index=0&group_key=acme"),
        "activity_log:read",
    );
}

#[test]
fn activity_needs_activity_log_read_and_nothing_else() {
    let app = app_with_group();
    let key = app.new_key("auditor", "activity_log:read", &[]);
    let get = |path: &str| app.as_key(&key).get(&app.purl(path));
    let (status, body) = get("/groups/activity?group_type_index=0&group_key=acme");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_count"], 1);
    assert_missing_scope(
        &get("/groups/find?group_type_index=0&group_key=acme"),
        "group:read",
    );
    assert_missing_scope(&get("/groups_types/"), "group:read");
}

#[test]
fn star_grants_everything() {
    let app = app_with_group();
    let key = app.new_key("root", "*", &[]);
    let get = |url: String| app.as_key(&key).get(&url).0;
    assert_eq!(
        get(app.purl("/groups/activity?group_type_index=0&group_key=acme")),
        200
    );
    assert_eq!(
        get(app.purl("/groups/find?group_type_index=0&group_key=acme")),
        200
    );
    assert_eq!(get(app.url("/api/projects/")), 200);
    let post = |url: String, body: Value| app.as_key(&key).call_json("POST", &url, &body).0;
    assert_eq!(post(app.url("/api/projects/"), json!({"name": "p"})), 201);
    assert_eq!(
        post(app.purl("/groups_types/"), json!({"group_type": "team"})),
        201
    );
    assert_eq!(
        post(
            app.purl("/groups/update_property?group_type_index=0&group_key=acme"),
            json!({"key": "plan", "value": "free"})
        ),
        200
    );
}

#[test]
fn authentication_is_checked_before_the_project() {
    let app = TestApp::spawn();
    let got = app
        .anonymous()
        .get(&app.url("/api/projects/999/groups_types/"));
    assert_not_authenticated(&got);
    let got = app
        .as_key(UNKNOWN_KEY)
        .get(&app.url("/api/projects/abc/groups_types/"));
    assert_authentication_failed(&got, "Authorization header");
}

#[test]
fn the_project_is_checked_before_the_scope() {
    let app = TestApp::spawn();
    app.new_project("Second");
    // This key has no group scope at all: the unknown project still answers 404 first.
    let key = app.new_key("projects-only", "project:read", &[1]);
    let got = app.as_key(&key).call_json(
        "POST",
        &app.url("/api/projects/999/groups_types/"),
        &json!({"group_type": "x"}),
    );
    assert_error(&got, 404, "not_found", "Project not found.", None);
    // ...and a project the key may not access answers 403 for the project, not for the scope.
    let got = app
        .as_key(&key)
        .get(&app.url("/api/projects/2/groups_types/"));
    assert_error(
        &got,
        403,
        "permission_denied",
        "API key does not have access to the requested project: ID 2.",
        None,
    );
}

#[test]
fn the_scope_is_checked_before_the_input() {
    let app = app_with_group();
    let key = app.new_key("reader", "group:read", &[]);
    let denied = missing_scope("group:write");
    let send = |path: &str, content_type: &str, body: &str| {
        app.as_key(&key)
            .call_raw("POST", &app.purl(path), content_type, body.to_owned())
    };
    for (path, ct, body) in [
        ("/groups/", "application/json", "{}"),
        (
            "/groups/",
            "application/json",
            r#"{"group_type_index": "x", "group_key": ""}"#,
        ),
        ("/groups/", "application/json", "{not json"),
        ("/groups/", "application/json", "[1, 2]"),
        ("/groups/", "text/plain", "hello"),
        (
            "/groups/",
            "application/json",
            r#"{"group_type_index": 7, "group_key": "acme"}"#,
        ),
        ("/groups/update_property", "application/json", "{}"),
        (
            "/groups/update_property?group_type_index=0&group_key=nope",
            "application/json",
            "{}",
        ),
        (
            "/groups/delete_property?group_type_index=x&group_key=acme",
            "application/json",
            "{}",
        ),
        (
            "/groups_types/",
            "application/json",
            r#"{"group_type": ""}"#,
        ),
    ] {
        assert_error(
            &send(path, ct, body),
            403,
            "permission_denied",
            &denied,
            None,
        );
    }
    // The same holds for a missing read scope on a bad query.
    let none = app.new_key("none", "project:read", &[]);
    let got = app.as_key(&none).list_groups("group_type_index=x");
    assert_missing_scope(&got, "group:read");
    let got = app
        .as_key(&key)
        .activity("group_type_index=0&group_key=acme&page=0");
    assert_missing_scope(&got, "activity_log:read");
}

#[test]
fn key_create_with_an_unknown_scope_fails_and_creates_nothing() {
    let app = TestApp::spawn();
    let (ok, out, err) = app.db.cli(&[
        "key",
        "create",
        "--label",
        "bad",
        "--scopes",
        "group:read,groups:write",
    ]);
    assert!(!ok, "an unknown scope was accepted: {out}");
    assert!(out.trim().is_empty(), "stdout: {out}");
    assert!(
        err.contains("groups:write"),
        "the message should name the scope: {err}"
    );
    let (ok, _, err) = app
        .db
        .cli(&["key", "create", "--label", "bad", "--scopes", "everything"]);
    assert!(!ok);
    assert!(!err.trim().is_empty());
    // The next key gets id 2: the spawn's key was 1 and the refused ones stored nothing.
    let (ok, out, err) =
        app.db
            .cli(&["key", "create", "--label", "good", "--scopes", "group:read"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["id"], 2, "{v}");
}

#[test]
fn key_create_prints_exactly_one_json_line() {
    let db = TestDb::new();
    db.cli_create_project("p");
    let (ok, out, err) = db.cli(&[
        "key",
        "create",
        "--label",
        "ci",
        "--scopes",
        "group:read,group:write",
    ]);
    assert!(ok, "{err}");
    assert!(out.ends_with('\n'), "{out:?}");
    assert_eq!(out.lines().count(), 1, "{out:?}");
    let v: Value = serde_json::from_str(out.trim()).expect("JSON");
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "key", "label", "projects", "scopes"]);
    assert_eq!(v["id"], 1);
    assert_eq!(v["label"], "ci");
    assert_eq!(v["scopes"], json!(["group:read", "group:write"]));
    assert_eq!(v["projects"], Value::Null);
    assert!(is_key(v["key"].as_str().unwrap()), "{v}");
}

#[test]
fn key_create_with_repeated_project_flags_limits_the_key_to_them() {
    let app = TestApp::spawn();
    app.new_project("Second");
    app.new_project("Third");
    let (ok, out, err) = app.db.cli(&[
        "key",
        "create",
        "--label",
        "two",
        "--scopes",
        "group:read",
        "--project",
        "1",
        "--project",
        "2",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["projects"], json!([1, 2]));
    let key = v["key"].as_str().unwrap();
    let get = |id: i64| {
        app.as_key(key)
            .get(&app.url(&format!("/api/projects/{id}/groups_types/")))
    };
    assert_eq!(get(1).0, 200);
    assert_eq!(get(2).0, 200);
    assert_error(
        &get(3),
        403,
        "permission_denied",
        "API key does not have access to the requested project: ID 3.",
        None,
    );
}

#[test]
fn cli_setting_flags_are_accepted_before_or_after_the_subcommand() {
    let app = TestApp::spawn();
    let cwd = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(groupd_bin())
            .args(args)
            .env_remove("GROUPD_DATABASE_URL")
            .current_dir(cwd.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        v["key"].as_str().unwrap().to_owned()
    };
    let before = run(&[
        "--database",
        &app.db.url,
        "key",
        "create",
        "--label",
        "before",
        "--scopes",
        "*",
    ]);
    let after = run(&[
        "key",
        "create",
        "--label",
        "after",
        "--scopes",
        "*",
        "--database",
        &app.db.url,
    ]);
    for key in [before, after] {
        let got = app.as_key(&key).list_types();
        assert_eq!(got.0, 200, "{}", got.1);
    }
    assert!(
        !cwd.path().join("groupd.db").exists(),
        "the default database was used instead of --database"
    );
}

#[test]
fn a_key_created_by_the_cli_while_the_server_runs_works_within_one_second() {
    let app = TestApp::spawn();
    // Warm any cache the server might keep of keys.
    assert_eq!(app.list_types().0, 200);
    let key = app.db.cli_create_key("late", "group:read", &[]);
    let created = Instant::now();
    loop {
        let got = app.as_key(&key).list_types();
        if got.0 == 200 {
            break;
        }
        assert_eq!(got.1["code"], "authentication_failed", "{}", got.1);
        assert!(
            created.elapsed() < Duration::from_secs(1),
            "the new key still fails after 1 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_plaintext_key_never_appears_in_the_server_log() {
    // The log of the real binary, as an operator reads it.
    let app = TestApp::spawn_process(&[], &[]);
    app.new_type("company");
    let token = app.token();
    // The key in each place it may be found, valid and invalid.
    let find = "group_type_index=0&group_key=none";
    app.find_group(find);
    let anonymous = app.anonymous();
    anonymous.find_group(&format!("{find}&personal_api_key={}", app.key));
    anonymous.create_group(
        &json!({"personal_api_key": app.key, "group_type_index": 0, "group_key": "k"}),
    );
    anonymous.find_group(&format!("{find}&personal_api_key={UNKNOWN_KEY}"));
    app.as_key(UNKNOWN_KEY).list_types();
    anonymous.activity(&format!(
        "group_type_index=0&group_key=k&personal_api_key={}",
        app.key
    ));
    // Responses carry the project token; the log must not.
    app.list_projects();
    std::thread::sleep(Duration::from_millis(300));
    let lines = app.logs.lock().unwrap();
    assert!(
        lines.iter().filter(|l| l.contains("request")).count() >= 7,
        "no request log lines: {lines:#?}"
    );
    for line in lines.iter() {
        assert!(!line.contains(&app.key), "the key was logged: {line}");
        assert!(
            !line.contains(UNKNOWN_KEY),
            "an unknown key was logged: {line}"
        );
        assert!(
            !line.contains(&app.key[4..]),
            "the key's secret part was logged: {line}"
        );
        assert!(
            !line.contains(&token),
            "the project token was logged: {line}"
        );
        assert!(
            !line.contains("personal_api_key"),
            "a query string was logged: {line}"
        );
    }
}

#[test]
fn the_database_holds_only_a_digest_of_the_key() {
    let app = TestApp::spawn();
    // Use the key once so that any lazily written state exists too.
    assert_eq!(app.list_types().0, 200);
    // Only the SQLite file can be inspected from outside.
    let Some(path) = app.db.url.strip_prefix("sqlite://") else {
        return;
    };
    let dir = std::path::Path::new(path).parent().unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The event segments' directory (no key goes into an event).
        if path.is_dir() {
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        seen += bytes.len();
        let secret = &app.key.as_bytes()[4..];
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "the plaintext key is stored in the database files"
        );
    }
    assert!(seen > 0, "no database files found in {}", dir.display());
}

#[test]
fn cli_logs_go_to_stderr_and_stdout_holds_only_the_json_line() {
    let db = TestDb::new();
    db.cli_create_project("p");
    for format in ["text", "json"] {
        let out = Command::new(groupd_bin())
            .args([
                "--log-format",
                format,
                "key",
                "create",
                "--label",
                "l",
                "--scopes",
                "group:read",
            ])
            .env("GROUPD_DATABASE_URL", &db.url)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{format}: {stderr}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{format}: {stdout:?}");
        let v: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
        let key = v["key"].as_str().unwrap();
        assert!(is_key(key), "{v}");
        assert!(!stderr.contains(&key[4..]), "the key was logged: {stderr}");
    }
}
