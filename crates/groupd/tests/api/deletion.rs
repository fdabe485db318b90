//! Deleting groups (lifecycle.md): one, the alias, in bulk; what disappears, what the activity
//! log keeps, and the tombstone against late events.
use serde_json::{Value, json};

use crate::helpers::*;

fn one(app: &TestApp, key: &str) -> String {
    app.purl(&format!("/groups_types/0/groups/{}", urlencode(key)))
}

fn identify(app: &TestApp, key: &str, ts: &str, set: Value) -> (u16, Value) {
    app.capture(
        "/e/",
        &json!({"api_key": app.token(), "event": "$groupidentify", "distinct_id": "u",
                "timestamp": ts,
                "properties": {"$group_type": "company", "$group_key": key, "$group_set": set}}),
    )
}

#[test]
fn a_deleted_group_is_gone_from_every_read_at_once() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"plan": "pro", "seats": 3}));
    app.new_group(0, "initech", json!({"plan": "pro"}));
    let (status, body) = app.call("DELETE", &one(&app, "acme"));
    assert_eq!((status, body), (204, Value::Null));

    assert_not_found(&app.find(0, "acme"));
    assert_eq!(keys(&app.list_groups("group_type_index=0").1), ["initech"]);
    assert_eq!(
        keys(&app.list_groups("group_type_index=0&search=acme").1).len(),
        0
    );
    let (_, defs) = app.property_definitions();
    assert_eq!(
        defs["0"],
        json!([{"name": "plan", "count": 1}]),
        "seats went with acme"
    );
    let (_, values) = app.property_values("group_type_index=0&key=plan");
    assert_eq!(values["results"], json!([{"name": "pro", "count": 1}]));
    let (status, q) = app.query("SELECT key FROM groups ORDER BY key");
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["results"], json!([["initech"]]));
    // Twice: the second finds nothing.
    assert_not_found(&app.call("DELETE", &one(&app, "acme")));
    assert_not_found(&app.call("DELETE", &one(&app, "nobody")));
}

#[test]
fn the_activity_of_a_deleted_group_stays_readable_its_deletion_first() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"plan": "free"}));
    app.update_property(
        "group_type_index=0&group_key=acme",
        &json!({"key": "plan", "value": "pro"}),
    );
    let (status, _) = app.call(
        "POST",
        &app.purl("/groups/delete_group?group_type_index=0&group_key=acme"),
    );
    assert_eq!(status, 204);
    let (status, act) = app.activity("group_type_index=0&group_key=acme");
    assert_eq!(status, 200, "{act}");
    let entries = act["results"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{act}");
    assert_eq!(entries[0]["activity"], "delete_group");
    assert_eq!(entries[0]["detail"]["changes"], json!([]));
    assert_eq!(entries[0]["detail"]["name"], "acme");
    assert_eq!(entries[1]["activity"], "update_property");
    assert_not_found(&app.activity("group_type_index=0&group_key=never"));
}

#[test]
fn a_bulk_delete_reports_deleted_and_not_found_keys() {
    let app = TestApp::spawn();
    app.new_type("company");
    for k in ["a", "b", "c"] {
        app.new_group(0, k, json!({}));
    }
    let url = app.purl("/groups/bulk_delete");
    let (status, body) = app.call_json(
        "POST",
        &url,
        &json!({"group_type_index": 0, "group_keys": ["a", "x", "c", "a"]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deleted": ["a", "c"], "not_found": ["x"]}));
    assert_eq!(keys(&app.list_groups("group_type_index=0").1), ["b"]);
    let many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    for keys in [json!([]), json!(many), json!("a")] {
        let got = app.call_json(
            "POST",
            &url,
            &json!({"group_type_index": 0, "group_keys": keys}),
        );
        assert_eq!((got.0, got.1["attr"].as_str()), (400, Some("group_keys")));
    }
    let reader = app.as_key(&app.new_key("reader", "group:read", &[]));
    let got = reader.call_json(
        "POST",
        &url,
        &json!({"group_type_index": 0, "group_keys": ["b"]}),
    );
    assert_missing_scope(&got, "group:write");
    assert_eq!(keys(&app.list_groups("group_type_index=0").1), ["b"]);
}

#[test]
fn a_late_event_does_not_bring_a_deleted_group_back_but_a_newer_one_makes_a_new_group() {
    let app = TestApp::spawn();
    // Deleted at T0 (the clock); the events are dated around it.
    assert_eq!(
        identify(&app, "acme", "2026-05-01T00:00:00Z", json!({"plan": "pro"})).0,
        200
    );
    assert_eq!(app.call("DELETE", &one(&app, "acme")).0, 204);
    // A late (or retried) event dated before the deletion: stored, its change dropped.
    assert_eq!(
        identify(
            &app,
            "acme",
            "2026-05-20T00:00:00Z",
            json!({"plan": "late"})
        )
        .0,
        200
    );
    assert_not_found(&app.find(0, "acme"));
    let (_, w) = app.warnings();
    let warning = w["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "group_deleted")
        .cloned()
        .unwrap_or_else(|| panic!("a group_deleted warning in {w}"));
    assert_eq!(warning["details"]["group_key"], "acme");
    // An event after the deletion starts a new group.
    app.clock().set(T0_US + 3_600_000_000);
    assert_eq!(
        identify(&app, "acme", "2026-06-01T00:30:00Z", json!({"seats": 9})).0,
        200
    );
    let (status, g) = app.find(0, "acme");
    assert_eq!(status, 200, "{g}");
    assert_eq!(
        g["group_properties"],
        json!({"seats": 9}),
        "nothing of the old group"
    );
    assert_eq!(g["created_at"], "2026-06-01T00:30:00Z");
}

#[test]
fn a_rest_create_after_a_deletion_makes_a_new_group() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"plan": "pro"}));
    assert_eq!(app.call("DELETE", &one(&app, "acme")).0, 204);
    app.clock().set(T0_US + 1_000_000);
    let g = app.new_group(0, "acme", json!({"seats": 1}));
    assert_eq!(g["group_properties"], json!({"seats": 1}));
    assert_eq!(g["created_at"], "2026-06-01T00:00:01Z");
}
