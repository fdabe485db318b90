//! `GET /property_definitions/?type=group`: property names of a group type with PostHog's types,
//! from the maintained counts.
use serde_json::{Value, json};

use crate::helpers::*;

fn defs(app: &ApiClient, query: &str) -> (u16, Value) {
    app.get(&app.purl(&format!("/property_definitions/?{query}")))
}

/// `name:property_type` of each result.
fn typed(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {body}"))
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["name"].as_str().unwrap(),
                r["property_type"].as_str().unwrap_or("null")
            )
        })
        .collect()
}

fn loaded() -> TestApp {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_type("project");
    app.new_group(0, "a", json!({"is_paying": true, "seats": 12, "signed_up_at": "2026-05-02T10:00:00Z",
                                 "name": "Acme", "flag": "false", "mixed": 1, "meta": {"x": 1}, "day": "2026-05-02"}));
    app.new_group(
        0,
        "b",
        json!({"mixed": "many", "seats": 3.5, "nothing": null}),
    );
    app.new_group(1, "p", json!({"budget": 10}));
    app
}

#[test]
fn names_come_ascending_with_their_types() {
    let app = loaded();
    let (status, body) = defs(&app, "type=group&group_type_index=0");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        typed(&body),
        [
            "day:DateTime",
            "flag:Boolean",
            "is_paying:Boolean",
            "meta:null",
            "mixed:Numeric",
            "name:String",
            "nothing:null",
            "seats:Numeric",
            "signed_up_at:DateTime"
        ],
        "mixed takes the type of its first value; null and objects are untyped"
    );
    assert_eq!(
        (&body["count"], &body["next"], &body["previous"]),
        (&json!(9), &Value::Null, &Value::Null)
    );
    let seats = &body["results"][7];
    assert_eq!(
        (
            &seats["is_numerical"],
            &seats["type"],
            &seats["group_type_index"]
        ),
        (&json!(true), &json!(3), &json!(0))
    );
    assert_eq!(body["results"][0]["is_numerical"], false);
    let id = seats["id"].as_str().unwrap().to_owned();
    assert_eq!(
        defs(&app, "type=group&group_type_index=0").1["results"][7]["id"],
        id,
        "ids are stable"
    );
    assert_ne!(body["results"][6]["id"], id);
    assert_eq!(
        typed(&defs(&app, "type=group&group_type_index=1").1),
        ["budget:Numeric"]
    );
    assert_eq!(defs(&app, "type=group&group_type_index=4").1["count"], 0);
}

#[test]
fn search_and_pages() {
    let app = loaded();
    assert_eq!(
        typed(&defs(&app, "type=group&group_type_index=0&search=IS").1),
        ["is_paying:Boolean"]
    );
    let (_, page) = defs(&app, "type=group&group_type_index=0&limit=4&offset=4");
    assert_eq!(
        typed(&page),
        [
            "mixed:Numeric",
            "name:String",
            "nothing:null",
            "seats:Numeric"
        ]
    );
    assert_eq!(page["count"], 9);
    let next = page["next"].as_str().unwrap();
    assert!(
        next.ends_with("/property_definitions/?type=group&group_type_index=0&limit=4&offset=8"),
        "{next}"
    );
    let prev = page["previous"].as_str().unwrap();
    assert!(
        prev.ends_with("/property_definitions/?type=group&group_type_index=0&limit=4"),
        "{prev}"
    );
    assert_eq!(typed(&app.get(next).1), ["signed_up_at:DateTime"]);
}

#[test]
fn other_types_list_nothing_and_bad_parameters_are_400() {
    let app = loaded();
    assert_eq!(
        defs(&app, "type=person"),
        (
            200,
            json!({"count": 0, "next": null, "previous": null, "results": []})
        )
    );
    let required = "This query parameter is required.";
    assert_error(
        &defs(&app, "group_type_index=0"),
        400,
        "invalid_input",
        required,
        Some("type"),
    );
    assert_error(
        &defs(&app, "type=group"),
        400,
        "invalid_input",
        required,
        Some("group_type_index"),
    );
    assert_not_an_integer(
        &defs(&app, "type=group&group_type_index=x"),
        "group_type_index",
    );
    assert_error(
        &defs(&app, "type=group&group_type_index=0&limit=0"),
        400,
        "invalid_input",
        "Ensure this value is greater than or equal to 1.",
        Some("limit"),
    );
    assert_error(
        &defs(&app, "type=group&group_type_index=0&limit=1001"),
        400,
        "invalid_input",
        "Ensure this value is less than or equal to 1000.",
        Some("limit"),
    );
    let q = app.as_key(&app.new_key("q", "query:read", &[]));
    assert_missing_scope(&defs(&q, "type=group&group_type_index=0"), "group:read");
}

#[test]
fn the_definitions_follow_every_change_and_a_new_type_starts_afresh() {
    let app = loaded();
    let q = "group_type_index=0&group_key=a";
    assert_eq!(
        app.delete_property(q, &json!({"$unset": "signed_up_at"})).0,
        200
    );
    assert_eq!(
        app.update_property(q, &json!({"key": "seen", "value": "2026-01-01 10:00"}))
            .0,
        200
    );
    let batch = json!({"api_key": app.token(), "batch": [{"event": "$groupidentify", "distinct_id": "u",
        "properties": {"$group_type": "company", "$group_key": "c", "$group_set": {"via_capture": "TRUE"}}}]});
    assert_eq!(app.capture("/batch/", &batch).0, 200);
    let (_, body) = defs(&app, "type=group&group_type_index=0&search=s");
    assert_eq!(
        typed(&body),
        ["is_paying:Boolean", "seats:Numeric", "seen:DateTime"],
        "signed_up_at is gone with its last group"
    );
    assert_eq!(
        typed(&defs(&app, "type=group&group_type_index=0&search=via").1),
        ["via_capture:Boolean"]
    );

    assert_eq!(app.delete_type("0").0, 204);
    assert_eq!(app.new_type("org"), 0);
    app.new_group(0, "x", json!({"seats": "many"}));
    assert_eq!(
        typed(&defs(&app, "type=group&group_type_index=0").1),
        ["seats:String"]
    );
}
