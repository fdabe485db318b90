//! `/api/projects/` and `/api/projects/{project_id}/`, also under `/api/environments/`.
use serde_json::{Value, json};

use crate::helpers::*;

fn is_token(s: &str, prefix: &str) -> bool {
    s.len() == prefix.len() + 40
        && s.starts_with(prefix)
        && s[prefix.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[test]
fn list_has_the_paginated_shape_and_project_1() {
    let app = TestApp::spawn();
    let (status, body) = app.list_projects();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"count": 1, "next": null, "previous": null, "results": [app.project.clone()]})
    );
    let p = &body["results"][0];
    let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["api_token", "created_at", "id", "name"]);
    assert_eq!(p["id"], 1);
    assert_eq!(p["name"], "Test project");
    assert!(is_token(p["api_token"].as_str().unwrap(), "phc_"), "{p}");
    assert!(p["created_at"].as_str().unwrap().ends_with('Z'), "{p}");
}

#[test]
fn list_is_ordered_by_id_and_works_without_the_trailing_slash() {
    let app = TestApp::spawn();
    app.new_project("Second");
    let (status, created) = app.create_project(&json!({"name": "Third"}));
    assert_eq!(status, 201, "{created}");
    for path in ["/api/projects/", "/api/projects"] {
        let (status, body) = app.get(&app.url(path));
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["count"], 3);
        let ids: Vec<i64> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 3], "{path}");
        assert_eq!(body["results"][2], created);
    }
}

#[test]
fn a_project_limited_key_lists_only_its_projects() {
    let app = TestApp::spawn();
    let p2 = app.new_project("Second");
    let p3 = app.new_project("Third");
    let only_one = app.as_key(&app.new_key("one", "project:read", &[1]));
    let (status, body) = only_one.list_projects();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 1);
    assert_eq!(body["results"], json!([app.project.clone()]));

    let two_three = app.as_key(&app.new_key("two-three", "project:read", &[3, 2]));
    let (status, body) = two_three.list_projects();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"count": 2, "next": null, "previous": null, "results": [p2.clone(), p3]})
    );
    // @current is the lowest id among them.
    assert_eq!(
        two_three.get(&app.url("/api/projects/@current/")),
        (200, p2)
    );
}

#[test]
fn retrieve_answers_the_project_with_and_without_a_trailing_slash() {
    let app = TestApp::spawn();
    for path in ["/api/projects/1/", "/api/projects/1"] {
        let (status, body) = app.get(&app.url(path));
        assert_eq!((status, body), (200, app.project.clone()), "{path}");
    }
}

#[test]
fn retrieve_via_current_answers_the_lowest_id_project_the_key_may_access() {
    let app = TestApp::spawn();
    let p2 = app.new_project("Second");
    for path in ["/api/projects/@current/", "/api/projects/@current"] {
        let (status, body) = app.get(&app.url(path));
        assert_eq!((status, body), (200, app.project.clone()), "{path}");
    }
    let only_two = app.as_key(&app.new_key("two", "project:read", &[2]));
    let (status, body) = only_two.get(&app.url("/api/projects/@current/"));
    assert_eq!((status, body), (200, p2.clone()));
    // @current works for nested routes too.
    let group_key = app.as_key(&app.new_key("two-groups", "group:write", &[2]));
    let r = group_key
        .in_project("@current")
        .create_type(&json!({"group_type": "only-in-two"}));
    assert_eq!(r.0, 201);
    let (status, body) = app.get(&app.url("/api/projects/2/groups_types/"));
    assert_eq!(status, 200);
    assert_eq!(body[0]["group_type"], "only-in-two");
    let (_, body) = app.get(&app.url("/api/projects/1/groups_types/"));
    assert_eq!(body, json!([]));
}

#[test]
fn the_environments_alias_retrieves_the_same_project() {
    let app = TestApp::spawn();
    let p2 = app.new_project("Second");
    for path in [
        "/api/environments/1/",
        "/api/environments/1",
        "/api/environments/@current/",
    ] {
        let (status, body) = app.get(&app.url(path));
        assert_eq!((status, body), (200, app.project.clone()), "{path}");
    }
    let (status, body) = app.get(&app.url("/api/environments/2/"));
    assert_eq!((status, body), (200, p2));
    let got = app.get(&app.url("/api/environments/99/"));
    assert_error(&got, 404, "not_found", "Project not found.", None);
}

#[test]
fn create_answers_201_with_a_fresh_public_token() {
    let app = TestApp::spawn();
    let (status, body) = app.create_project(&json!({"name": "Shop"}));
    assert_eq!(status, 201, "{body}");
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["api_token", "created_at", "id", "name"]);
    assert_eq!(body["id"], 2);
    assert_eq!(body["name"], "Shop");
    let token = body["api_token"].as_str().unwrap();
    assert!(is_token(token, "phc_"), "{token}");
    assert_ne!(token, app.project["api_token"].as_str().unwrap());
    let (_, again) = app.create_project(&json!({"name": "Shop"}));
    assert_eq!(again["id"], 3);
    assert_ne!(
        again["api_token"], body["api_token"],
        "tokens are fresh per project"
    );
    let (status, got) = app.get_project("2");
    assert_eq!((status, got), (200, body));
}

#[test]
fn create_refuses_a_missing_blank_or_null_name() {
    let app = TestApp::spawn();
    let post = |body: Value| app.create_project(&body);
    assert_error(
        &post(json!({})),
        400,
        "required",
        "This field is required.",
        Some("name"),
    );
    assert_error(
        &post(json!({"name": null})),
        400,
        "null",
        "This field may not be null.",
        Some("name"),
    );
    assert_error(
        &post(json!({"name": ""})),
        400,
        "blank",
        "This field may not be blank.",
        Some("name"),
    );
    assert_error(
        &post(json!({"name": "   "})),
        400,
        "blank",
        "This field may not be blank.",
        Some("name"),
    );
    let (_, body) = app.list_projects();
    assert_eq!(
        body["count"], 1,
        "a refused create stored a project: {body}"
    );
}

#[test]
fn patch_renames_the_project() {
    let app = TestApp::spawn();
    let (status, body) = app.patch_project("1", &json!({"name": "Renamed"}));
    assert_eq!(status, 200, "{body}");
    let mut expected = app.project.clone();
    expected["name"] = json!("Renamed");
    assert_eq!(body, expected, "only the name changes");
    let (_, got) = app.get_project("1");
    assert_eq!(got, expected);
    let (status, body) = app.call_json(
        "PATCH",
        &app.url("/api/projects/@current"),
        &json!({"name": "Again"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Again");
    let (_, list) = app.list_projects();
    assert_eq!(list["results"][0]["name"], "Again");
}

#[test]
fn patch_refuses_a_blank_or_null_name_and_keeps_the_old_one() {
    let app = TestApp::spawn();
    let got = app.patch_project("1", &json!({"name": ""}));
    assert_error(
        &got,
        400,
        "blank",
        "This field may not be blank.",
        Some("name"),
    );
    let got = app.patch_project("1", &json!({"name": null}));
    assert_error(
        &got,
        400,
        "null",
        "This field may not be null.",
        Some("name"),
    );
    let (_, got) = app.get_project("1");
    assert_eq!(got["name"], "Test project");
}

#[test]
fn unknown_and_non_integer_project_ids_are_404() {
    let app = TestApp::spawn();
    for id in [
        "2",
        "999",
        "abc",
        "-1",
        "1.0",
        "99999999999999999999",
        "%40other",
        "@Current",
    ] {
        for path in [
            format!("/api/projects/{id}/"),
            format!("/api/projects/{id}/groups_types/"),
        ] {
            let got = app.get(&app.url(&path));
            assert_error(&got, 404, "not_found", "Project not found.", None);
        }
        let got = app.patch_project(id, &json!({"name": "x"}));
        assert_error(&got, 404, "not_found", "Project not found.", None);
    }
}

#[test]
fn a_key_limited_to_project_1_may_not_read_project_2() {
    let app = TestApp::spawn();
    app.new_project("Second");
    let only_one = app.as_key(&app.new_key("one", "project:write,group:write", &[1]));
    let denied = "API key does not have access to the requested project: ID 2.";
    for path in [
        "/api/projects/2/",
        "/api/projects/2/groups_types/",
        "/api/environments/2/",
    ] {
        let got = only_one.get(&app.url(path));
        assert_error(&got, 403, "permission_denied", denied, None);
    }
    let got = only_one.patch_project("2", &json!({"name": "hijacked"}));
    assert_error(&got, 403, "permission_denied", denied, None);
    let (_, p2) = app.get_project("2");
    assert_eq!(p2["name"], "Second");
    // Its own project is fine, and an unknown one is still 404, not 403.
    assert_eq!(only_one.get(&app.url("/api/projects/1/")).0, 200);
    let got = only_one.get(&app.url("/api/projects/3/"));
    assert_error(&got, 404, "not_found", "Project not found.", None);
}

#[test]
fn reading_needs_project_read_and_changing_needs_project_write() {
    let app = TestApp::spawn();
    let groups =
        app.as_key(&app.new_key("groups", "group:write,activity_log:read,query:read", &[]));
    let reader = app.as_key(&app.new_key("reader", "project:read", &[]));
    let writer = app.as_key(&app.new_key("writer", "project:write", &[]));

    for path in ["/api/projects/", "/api/projects/1/"] {
        assert_missing_scope(&groups.get(&app.url(path)), "project:read");
        assert_eq!(reader.get(&app.url(path)).0, 200, "{path}");
        assert_eq!(
            writer.get(&app.url(path)).0,
            200,
            "project:write implies project:read: {path}"
        );
    }
    let post = |key: &ApiClient| key.create_project(&json!({"name": "New"}));
    let rename = |key: &ApiClient| key.patch_project("1", &json!({"name": "New name"}));
    assert_missing_scope(&post(&reader), "project:write");
    assert_missing_scope(&rename(&reader), "project:write");
    assert_missing_scope(&post(&groups), "project:write");
    let (_, list) = app.list_projects();
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["name"], "Test project");

    assert_eq!(post(&writer).0, 201);
    assert_eq!(rename(&writer).0, 200);
}

#[test]
fn methods_the_project_routes_do_not_serve_are_405() {
    let app = TestApp::spawn();
    for (method, path) in [
        ("PUT", "/api/projects/"),
        ("DELETE", "/api/projects"),
        ("PATCH", "/api/projects/"),
        ("POST", "/api/projects/1/"),
        ("DELETE", "/api/projects/1/"),
        ("PUT", "/api/projects/1"),
        ("QUERY", "/api/projects/"),
    ] {
        let got = app.call(method, &app.url(path));
        assert_method_not_allowed(&got, method);
    }
    let (_, got) = app.get_project("1");
    assert_eq!(got, app.project);
}

#[test]
fn a_project_created_by_rest_is_usable_at_once() {
    let app = TestApp::spawn();
    let (_, p) = app.create_project(&json!({"name": "Fresh"}));
    let id = p["id"].as_i64().unwrap();
    let r = app
        .in_project(id)
        .create_type(&json!({"group_type": "company"}));
    assert_eq!(r.0, 201);
    // Nothing of it leaks into project 1.
    let (_, types) = app.list_types();
    assert_eq!(types, json!([]));
}

#[test]
fn a_project_created_by_the_cli_while_the_server_runs_is_usable_within_one_second() {
    let app = TestApp::spawn();
    // Warm any cache the server might keep of projects.
    let (_, before) = app.list_projects();
    assert_eq!(before["count"], 1);
    assert_error(
        &app.get_project("2"),
        404,
        "not_found",
        "Project not found.",
        None,
    );
    let p2 = app.db.cli_create_project("From the CLI");
    let created = std::time::Instant::now();
    loop {
        let (status, body) = app.get_project("2");
        if status == 200 {
            assert_eq!(body, p2);
            break;
        }
        assert!(
            created.elapsed() < std::time::Duration::from_secs(1),
            "the new project is still unknown after 1 s: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (_, list) = app.list_projects();
    assert_eq!(list["count"], 2);
}

#[test]
fn a_second_server_on_the_same_database_sees_every_answered_write_at_once() {
    let app = TestApp::spawn();
    let other = TestServer::start(&app.db, &[]);
    let on_other = |path: &str| app.get(&format!("{}{path}", other.base));
    // Read first on the second server, so a cache there would be stale afterwards.
    assert_eq!(on_other("/api/projects/1/").1["name"], "Test project");
    assert_eq!(on_other("/api/projects/1/groups_types/").1, json!([]));

    let (status, _) = app.patch_project("1", &json!({"name": "Renamed"}));
    assert_eq!(status, 200);
    assert_eq!(on_other("/api/projects/1/").1["name"], "Renamed");
    assert_eq!(
        on_other("/api/projects/").1["results"][0]["name"],
        "Renamed"
    );

    let (status, p) = app.create_project(&json!({"name": "New"}));
    assert_eq!(status, 201);
    assert_eq!(on_other("/api/projects/2/"), (200, p));

    app.new_type("company");
    let (status, types) = on_other("/api/projects/1/groups_types/");
    assert_eq!(status, 200);
    assert_eq!(types[0]["group_type"], "company");
    assert_eq!(app.delete_type("0").0, 204);
    assert_eq!(on_other("/api/projects/1/groups_types/").1, json!([]));
}
