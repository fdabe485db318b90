//! `/api/projects/{project_id}/groups_types/…`: list, create, update_metadata,
//! set_default_columns, delete.
use serde_json::{Value, json};

use crate::helpers::*;

/// The list as the server answers it, asserting a 200.
fn list(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.list_types();
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("a plain array").clone()
}

fn indexes(types: &[Value]) -> Vec<i64> {
    types
        .iter()
        .map(|t| t["group_type_index"].as_i64().unwrap())
        .collect()
}

fn names(types: &[Value]) -> Vec<&str> {
    types
        .iter()
        .map(|t| t["group_type"].as_str().unwrap())
        .collect()
}

#[test]
fn a_fresh_project_lists_no_group_types_as_an_empty_array() {
    let app = TestApp::spawn();
    let (status, body) = app.list_types();
    assert_eq!((status, body), (200, json!([])));
}

#[test]
fn created_type_has_exactly_the_spec_object_shape() {
    let app = TestApp::spawn();
    let (status, body) = app.create_type(&json!({"group_type": "company"}));
    assert_eq!(status, 201, "{body}");
    let obj = body.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "default_columns",
            "detail_dashboard",
            "group_type",
            "group_type_index",
            "name_plural",
            "name_singular"
        ]
    );
    assert_eq!(body["group_type_index"], 0);
    assert_eq!(body["group_type"], "company");
    assert_eq!(body["name_singular"], Value::Null);
    assert_eq!(body["name_plural"], Value::Null);
    assert_eq!(body["detail_dashboard"], Value::Null);
    assert_eq!(body["default_columns"], Value::Null);
    let created = body["created_at"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && created.len() >= 20 && &created[10..11] == "T",
        "{created}"
    );
    // The list holds the very same object.
    assert_eq!(list(&app), vec![body]);
}

#[test]
fn create_accepts_display_names() {
    let app = TestApp::spawn();
    let (status, body) = app.create_type(
        &json!({"group_type": "organization", "name_singular": "org", "name_plural": "orgs"}),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name_singular"], "org");
    assert_eq!(body["name_plural"], "orgs");
    assert_eq!(list(&app)[0]["name_plural"], "orgs");
}

#[test]
fn indexes_are_assigned_smallest_free_first_and_the_list_is_ordered_by_index() {
    let app = TestApp::spawn();
    for (i, name) in ["company", "team", "region"].iter().enumerate() {
        assert_eq!(app.new_type(name), i as i64);
    }
    assert_eq!(app.delete_type("0").0, 204);
    assert_eq!(indexes(&list(&app)), [1, 2]);
    // The freed index 0 goes to the next type, and the list is by index, not creation time.
    assert_eq!(app.new_type("workspace"), 0);
    assert_eq!(app.new_type("account"), 3);
    let types = list(&app);
    assert_eq!(indexes(&types), [0, 1, 2, 3]);
    assert_eq!(names(&types), ["workspace", "team", "region", "account"]);
}

#[test]
fn a_duplicate_type_name_is_refused_on_group_type() {
    let app = TestApp::spawn();
    app.new_type("company");
    let got = app.create_type(&json!({"group_type": "company"}));
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "group_type", "{}", got.1);
    assert_eq!(got.1["type"], "validation_error");
    assert_eq!(list(&app).len(), 1);
}

#[test]
fn create_requires_a_non_blank_group_type() {
    let app = TestApp::spawn();
    assert_error(
        &app.create_type(&json!({})),
        400,
        "required",
        "This field is required.",
        Some("group_type"),
    );
    assert_error(
        &app.create_type(&json!({"group_type": null})),
        400,
        "null",
        "This field may not be null.",
        Some("group_type"),
    );
    assert_error(
        &app.create_type(&json!({"group_type": ""})),
        400,
        "blank",
        "This field may not be blank.",
        Some("group_type"),
    );
    assert!(list(&app).is_empty());
}

#[test]
fn a_full_project_refuses_a_sixth_type_with_the_default_limit_of_five() {
    let app = TestApp::spawn();
    for i in 0..5 {
        assert_eq!(app.new_type(&format!("t{i}")), i);
    }
    assert_error(
        &app.create_type(&json!({"group_type": "t5"})),
        400,
        "invalid_input",
        "This project already has the maximum of 5 group types.",
        Some("group_type"),
    );
    assert_eq!(indexes(&list(&app)), [0, 1, 2, 3, 4]);
}

#[test]
fn the_limit_follows_max_group_types() {
    let app = TestApp::spawn_with(&["--max-group-types", "2"]);
    assert_eq!(app.new_type("a"), 0);
    assert_eq!(app.new_type("b"), 1);
    assert_error(
        &app.create_type(&json!({"group_type": "c"})),
        400,
        "invalid_input",
        "This project already has the maximum of 2 group types.",
        Some("group_type"),
    );
    // Deleting one makes room again, at the freed index.
    assert_eq!(app.delete_type("0").0, 204);
    assert_eq!(app.new_type("c"), 0);
    assert_eq!(names(&list(&app)), ["c", "b"]);
}

#[test]
fn an_instance_may_allow_up_to_64_types() {
    let app = TestApp::spawn_with(&["--max-group-types", "64"]);
    for i in 0..64 {
        assert_eq!(app.new_type(&format!("t{i}")), i);
    }
    assert_error(
        &app.create_type(&json!({"group_type": "t64"})),
        400,
        "invalid_input",
        "This project already has the maximum of 64 group types.",
        Some("group_type"),
    );
    assert_eq!(indexes(&list(&app)), (0..64).collect::<Vec<_>>());
}

#[test]
fn group_types_of_one_project_are_invisible_to_another() {
    let app = TestApp::spawn();
    let other = app.in_project(&app.new_project("Other")["id"]);
    app.new_type("company");
    assert_eq!(other.list_types(), (200, json!([])));
    // Names and indexes are per project.
    let (status, body) = other.create_type(&json!({"group_type": "company"}));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["group_type_index"], 0);
}

#[test]
fn update_metadata_applies_the_names_and_returns_the_full_list() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_type("team");
    let (status, body) = app.patch_types(
        &json!([{"group_type_index": 1, "name_singular": "squad", "name_plural": "squads"}]),
    );
    assert_eq!(status, 200, "{body}");
    let types = body.as_array().expect("the full list");
    assert_eq!(indexes(types), [0, 1]);
    assert_eq!(types[0]["name_singular"], Value::Null);
    assert_eq!(types[1]["name_singular"], "squad");
    assert_eq!(types[1]["name_plural"], "squads");
    assert_eq!(
        types[1]["group_type"], "team",
        "only the two names are applied"
    );
    assert_eq!(list(&app), *types);
}

#[test]
fn update_metadata_applies_only_the_two_names() {
    let app = TestApp::spawn();
    app.new_type("company");
    let before = list(&app);
    let (status, body) = app.patch_types(
        &json!([{"group_type_index": 0, "name_singular": "firm", "group_type": "renamed",
                 "created_at": "2000-01-01T00:00:00Z", "default_columns": ["x"]}]),
    );
    assert_eq!(status, 200, "{body}");
    let after = &body[0];
    assert_eq!(after["name_singular"], "firm");
    assert_eq!(after["group_type"], "company");
    assert_eq!(after["created_at"], before[0]["created_at"]);
    assert_eq!(after["default_columns"], Value::Null);
}

#[test]
fn update_metadata_with_an_unknown_index_applies_nothing() {
    let app = TestApp::spawn();
    app.new_type("company");
    let got = app.patch_types(&json!([
        {"group_type_index": 0, "name_singular": "firm", "name_plural": "firms"},
        {"group_type_index": 3, "name_singular": "ghost"}
    ]));
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "group_type_index", "{}", got.1);
    let types = list(&app);
    assert_eq!(
        types[0]["name_singular"],
        Value::Null,
        "the valid first item was applied"
    );
    assert_eq!(types[0]["name_plural"], Value::Null);
}

#[test]
fn update_metadata_with_a_missing_index_applies_nothing() {
    let app = TestApp::spawn();
    app.new_type("company");
    let got = app.patch_types(&json!([
        {"group_type_index": 0, "name_singular": "firm"},
        {"name_singular": "nameless"}
    ]));
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "group_type_index", "{}", got.1);
    assert_eq!(list(&app)[0]["name_singular"], Value::Null);
}

#[test]
fn update_metadata_refuses_names_over_400_characters_and_applies_nothing() {
    let app = TestApp::spawn();
    app.new_type("company");
    let long = "é".repeat(401);
    let got = app.patch_types(
        &json!([{"group_type_index": 0, "name_singular": "firm", "name_plural": long}]),
    );
    assert_error(
        &got,
        400,
        "max_length",
        "Ensure this field has no more than 400 characters.",
        Some("name_plural"),
    );
    assert_eq!(list(&app)[0]["name_singular"], Value::Null);
    // Exactly 400 characters is fine.
    let ok = "é".repeat(400);
    let (status, body) = app.patch_types(&json!([{"group_type_index": 0, "name_singular": ok}]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["name_singular"], ok.as_str());
}

#[test]
fn update_metadata_with_an_empty_array_changes_nothing_and_returns_the_list() {
    let app = TestApp::spawn();
    app.new_type("company");
    let (status, body) = app.patch_types(&json!([]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!(list(&app)));
    assert_eq!(body.as_array().unwrap().len(), 1);
}

#[test]
fn update_metadata_requires_an_array() {
    let app = TestApp::spawn();
    app.new_type("company");
    let got = app.patch_types(&json!({"group_type_index": 0, "name_singular": "firm"}));
    assert_eq!(got.0, 400, "{}", got.1);
    assert_client_error(&got);
    assert_eq!(list(&app)[0]["name_singular"], Value::Null);
}

#[test]
fn set_default_columns_answers_the_type_with_its_columns() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_type("team");
    let (status, body) =
        app.put_columns(&json!({"group_type_index": 1, "default_columns": ["name", "plan"]}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["group_type_index"], 1);
    assert_eq!(body["group_type"], "team");
    assert_eq!(body["default_columns"], json!(["name", "plan"]));
    let types = list(&app);
    assert_eq!(types[1], body);
    assert_eq!(types[0]["default_columns"], Value::Null);
}

#[test]
fn set_default_columns_on_an_unknown_type_is_404() {
    let app = TestApp::spawn();
    app.new_type("company");
    let got = app.put_columns(&json!({"group_type_index": 4, "default_columns": ["name"]}));
    assert_error(&got, 404, "not_found", "Group type not found", None);
}

#[test]
fn set_default_columns_requires_both_fields() {
    let app = TestApp::spawn();
    app.new_type("company");
    let got = app.put_columns(&json!({"default_columns": ["name"]}));
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "group_type_index", "{}", got.1);
    let got = app.put_columns(&json!({"group_type_index": 0}));
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "default_columns", "{}", got.1);
    assert_eq!(list(&app)[0]["default_columns"], Value::Null);
}

#[test]
fn delete_removes_the_type_its_groups_and_their_activity() {
    let app = TestApp::spawn();
    let company = app.new_type("company");
    let team = app.new_type("team");
    app.new_group(company, "acme", json!({"name": "Acme"}));
    app.new_group(team, "blue", json!({"size": 3}));

    let got = app.delete_type("0");
    assert_eq!(got.0, 204, "{}", got.1);
    assert_eq!(got.1, Value::Null, "204 has no body");
    assert_eq!(names(&list(&app)), ["team"]);

    let find = |index: i64, key: &str| app.find(index, key);
    assert_error(&find(0, "acme"), 404, "not_found", "Not found.", None);
    let activity = app.activity("group_type_index=0&group_key=acme");
    assert_eq!(
        activity.0, 404,
        "activity of a deleted group: {}",
        activity.1
    );
    // The other type's group is untouched.
    let (status, body) = find(1, "blue");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["group_properties"], json!({"size": 3}));

    // The index is reused, and the new type starts empty: the old groups do not resurface.
    assert_eq!(app.new_type("workspace"), 0);
    assert_error(&find(0, "acme"), 404, "not_found", "Not found.", None);
    let (status, body) = app.list_groups("group_type_index=0");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"], json!([]));
    // A group of the same key can be created again under the reused index, with a fresh history.
    app.new_group(0, "acme", json!({"plan": "pro"}));
    let (status, body) = app.activity("group_type_index=0&group_key=acme");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_count"], 1, "old activity resurfaced: {body}");
    assert_eq!(body["results"][0]["detail"]["name"], "plan");
}

#[test]
fn delete_of_an_unknown_index_is_404() {
    let app = TestApp::spawn();
    app.new_type("company");
    assert_error(
        &app.delete_type("3"),
        404,
        "not_found",
        "Group type not found",
        None,
    );
    assert_error(
        &app.delete_type("-1"),
        404,
        "not_found",
        "Group type not found",
        None,
    );
    assert_eq!(app.delete_type("0").0, 204);
    assert_error(
        &app.delete_type("0"),
        404,
        "not_found",
        "Group type not found",
        None,
    );
}

#[test]
fn delete_with_a_non_integer_index_is_400() {
    let app = TestApp::spawn();
    app.new_type("company");
    for bad in ["abc", "1.5", "99999999999999999999", "0x1"] {
        let got = app.delete_type(bad);
        assert_not_an_integer(&got, "group_type_index");
    }
    assert_eq!(list(&app).len(), 1);
}

#[test]
fn every_route_answers_with_and_without_a_trailing_slash() {
    let app = TestApp::spawn();
    for path in ["/groups_types", "/groups_types/"] {
        let got = app.get(&app.purl(path));
        assert_eq!(got.0, 200, "GET {path}: {}", got.1);
    }
    let (status, body) = app.call_json(
        "POST",
        &app.purl("/groups_types"),
        &json!({"group_type": "a"}),
    );
    assert_eq!(
        (status, &body["group_type_index"]),
        (201, &json!(0)),
        "{body}"
    );
    let (status, body) = app.create_type(&json!({"group_type": "b"}));
    assert_eq!(
        (status, &body["group_type_index"]),
        (201, &json!(1)),
        "{body}"
    );

    for path in [
        "/groups_types/update_metadata",
        "/groups_types/update_metadata/",
    ] {
        let body = json!([{"group_type_index": 0, "name_singular": path}]);
        let got = app.call_json("PATCH", &app.purl(path), &body);
        assert_eq!(got.0, 200, "PATCH {path}: {}", got.1);
        assert_eq!(got.1[0]["name_singular"], path);
    }
    for path in [
        "/groups_types/set_default_columns",
        "/groups_types/set_default_columns/",
    ] {
        let body = json!({"group_type_index": 0, "default_columns": [path]});
        let got = app.call_json("PUT", &app.purl(path), &body);
        assert_eq!(got.0, 200, "PUT {path}: {}", got.1);
        assert_eq!(got.1["default_columns"], json!([path]));
    }
    for path in ["/groups_types/0", "/groups_types/1/"] {
        let got = app.call("DELETE", &app.purl(path));
        assert_eq!(got.0, 204, "DELETE {path}: {}", got.1);
    }
    assert!(list(&app).is_empty());
}

#[test]
fn the_environments_alias_serves_the_same_group_types() {
    let app = TestApp::spawn();
    app.new_type("company");
    let url = app.url(&format!(
        "/api/environments/{}/groups_types/",
        app.project["id"]
    ));
    let (status, body) = app.get(&url);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!(list(&app)));
}

#[test]
fn methods_a_route_does_not_serve_are_405() {
    let app = TestApp::spawn();
    app.new_type("company");
    let cases = [
        ("PUT", "/groups_types/"),
        ("DELETE", "/groups_types"),
        ("PATCH", "/groups_types/"),
        ("GET", "/groups_types/update_metadata"),
        ("POST", "/groups_types/update_metadata/"),
        ("PUT", "/groups_types/update_metadata"),
        ("GET", "/groups_types/set_default_columns"),
        ("PATCH", "/groups_types/set_default_columns/"),
        ("POST", "/groups_types/set_default_columns"),
        ("GET", "/groups_types/0"),
        ("POST", "/groups_types/0/"),
        ("PUT", "/groups_types/0"),
        ("QUERY", "/groups_types/"),
        ("TRACE", "/groups_types/0"),
    ];
    for (method, path) in cases {
        let got = app.call(method, &app.purl(path));
        assert_method_not_allowed(&got, method);
    }
    // Nothing was changed by any of them.
    let types = list(&app);
    assert_eq!(names(&types), ["company"]);
    assert_eq!(types[0]["default_columns"], Value::Null);
}

#[test]
fn changes_need_group_write_and_the_list_needs_group_read() {
    let app = TestApp::spawn();
    app.new_type("company");
    let reader = app.as_key(&app.new_key("reader", "group:read", &[]));
    let none = app.as_key(&app.new_key("projects", "project:read", &[]));
    assert_eq!(reader.list_types().0, 200);
    assert_missing_scope(&none.list_types(), "group:read");
    assert_missing_scope(
        &reader.create_type(&json!({"group_type": "x"})),
        "group:write",
    );
    assert_missing_scope(
        &reader.patch_types(&json!([{"group_type_index": 0, "name_singular": "x"}])),
        "group:write",
    );
    assert_missing_scope(
        &reader.put_columns(&json!({"group_type_index": 0, "default_columns": ["x"]})),
        "group:write",
    );
    assert_missing_scope(&reader.delete_type("0"), "group:write");
    let types = list(&app);
    assert_eq!(names(&types), ["company"]);
    assert_eq!(types[0]["name_singular"], Value::Null);
    assert_eq!(types[0]["default_columns"], Value::Null);
}
