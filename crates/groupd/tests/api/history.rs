//! Property history (lifecycle.md): one version per change, in event-time order with its
//! predecessor, late writes included, equal writes not; `as_of` on find and list.
use serde_json::{Value, json};

use crate::helpers::*;

fn identify(app: &TestApp, key: &str, uuid: &str, ts: &str, set: Value) {
    let (status, body) = app.capture(
        "/e/",
        &json!({"api_key": app.token(), "event": "$groupidentify", "distinct_id": "u",
                "uuid": uuid, "timestamp": ts,
                "properties": {"$group_type": "company", "$group_key": key, "$group_set": set}}),
    );
    assert_eq!(status, 200, "{body}");
}

fn history(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&app.purl(&format!("/groups/property_history?{query}")));
    assert_eq!(status, 200, "{body}");
    body
}

/// `(property, op, value, previous_value, event_time)` of each version.
fn rows(h: &Value) -> Vec<(String, String, Value, Value, String)> {
    h["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["property"].as_str().unwrap().to_owned(),
                v["op"].as_str().unwrap().to_owned(),
                v["value"].clone(),
                v["previous_value"].clone(),
                v["event_time"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const U1: &str = "0190c4a1-0000-7000-8000-000000000001";
const U2: &str = "0190c4a1-0000-7000-8000-000000000002";
const U3: &str = "0190c4a1-0000-7000-8000-000000000003";
const U4: &str = "0190c4a1-0000-7000-8000-000000000004";

/// Events arrive out of order: May 3 (enterprise), May 1 (free), May 2 (pro, late), then May 3
/// again with the same value (no version).
fn out_of_order(app: &TestApp) {
    identify(
        app,
        "acme",
        U1,
        "2026-05-03T00:00:00Z",
        json!({"plan": "enterprise"}),
    );
    identify(
        app,
        "acme",
        U2,
        "2026-05-01T00:00:00Z",
        json!({"plan": "free", "seats": 1}),
    );
    identify(
        app,
        "acme",
        U3,
        "2026-05-02T00:00:00Z",
        json!({"plan": "pro"}),
    );
    identify(
        app,
        "acme",
        U4,
        "2026-05-04T00:00:00Z",
        json!({"plan": "enterprise"}),
    );
}

#[test]
fn history_lists_versions_by_event_time_with_late_ones_in_place_and_equal_ones_left_out() {
    let app = TestApp::spawn();
    out_of_order(&app);
    assert_eq!(
        app.find(0, "acme").1["group_properties"],
        json!({"plan": "enterprise", "seats": 1})
    );
    let h = history(&app, "group_type_index=0&group_key=acme&property=plan");
    assert_eq!(
        rows(&h),
        [
            (
                "plan".into(),
                "set".into(),
                json!("enterprise"),
                json!("pro"),
                "2026-05-03T00:00:00Z".into()
            ),
            (
                "plan".into(),
                "set".into(),
                json!("pro"),
                json!("free"),
                "2026-05-02T00:00:00Z".into()
            ),
            (
                "plan".into(),
                "set".into(),
                json!("free"),
                Value::Null,
                "2026-05-01T00:00:00Z".into()
            ),
        ]
    );
    assert_eq!(
        h["results"][0]["source"],
        json!({"kind": "capture", "event_uuid": U1})
    );
    assert_eq!(h["results"][0]["recorded_at"], T0);
    assert_eq!(h["next"], Value::Null);
    // Every property, and paging.
    let h = history(&app, "group_type_index=0&group_key=acme&limit=2");
    assert_eq!(h["results"].as_array().unwrap().len(), 2);
    let next = h["next"].as_str().expect("a next page").to_owned();
    let (_, rest) = app.get(&next);
    assert_eq!(rest["results"].as_array().unwrap().len(), 2, "{rest}");
    assert_eq!(rest["next"], Value::Null);
    // The path alias answers the same.
    let (_, alias) = app.get(&app.purl("/groups_types/0/groups/acme/history?property=plan"));
    assert_eq!(
        rows(&alias),
        rows(&history(
            &app,
            "group_type_index=0&group_key=acme&property=plan"
        ))
    );
}

#[test]
fn rest_changes_are_versions_with_their_key_label() {
    let app = TestApp::spawn();
    app.new_type("company");
    let crm = app.as_key(&app.new_key("crm-sync", "*", &[]));
    let (status, _) = crm.create_group(
        &json!({"group_type_index": 0, "group_key": "acme", "group_properties": {"seats": 12}}),
    );
    assert_eq!(status, 201);
    app.clock().set(T0_US + 1_000_000);
    crm.delete_property(
        "group_type_index=0&group_key=acme",
        &json!({"$unset": "seats"}),
    );
    let h = history(&app, "group_type_index=0&group_key=acme");
    assert_eq!(
        rows(&h),
        [
            (
                "seats".into(),
                "unset".into(),
                Value::Null,
                json!(12),
                "2026-06-01T00:00:01Z".into()
            ),
            (
                "seats".into(),
                "set".into(),
                json!(12),
                Value::Null,
                T0.into()
            ),
        ]
    );
    assert_eq!(
        h["results"][0]["source"],
        json!({"kind": "api", "key_label": "crm-sync"})
    );
    assert_not_found(
        &app.get(&app.purl("/groups/property_history?group_type_index=0&group_key=nobody")),
    );
}

#[test]
fn as_of_reads_each_property_at_its_latest_version_by_event_time() {
    let app = TestApp::spawn();
    out_of_order(&app);
    let at = |t: &str| {
        let (status, g) = app.find_group(&format!("group_type_index=0&group_key=acme&as_of={t}"));
        (status, g["group_properties"].clone())
    };
    assert_eq!(
        at("2026-05-01T12:00:00Z"),
        (200, json!({"plan": "free", "seats": 1}))
    );
    assert_eq!(
        at("2026-05-02T12:00:00Z"),
        (200, json!({"plan": "pro", "seats": 1}))
    );
    assert_eq!(
        at("2026-05-03T00:00:00Z"),
        (200, json!({"plan": "enterprise", "seats": 1}))
    );
    // Before the group existed, and in the future (reads as now).
    assert_not_found(
        &app.find_group("group_type_index=0&group_key=acme&as_of=2026-04-30T00:00:00Z"),
    );
    assert_eq!(
        at("2030-01-01T00:00:00Z").1,
        json!({"plan": "enterprise", "seats": 1})
    );
    // The list, and the path route.
    identify(
        &app,
        "initech",
        "0190c4a1-0000-7000-8000-000000000009",
        "2026-05-05T00:00:00Z",
        json!({"plan": "x"}),
    );
    let (_, page) = app.list_groups("group_type_index=0&as_of=2026-05-02T12:00:00Z");
    assert_eq!(keys(&page), ["acme"], "initech did not exist yet");
    assert_eq!(
        page["results"][0]["group_properties"],
        json!({"plan": "pro", "seats": 1})
    );
    let (_, g) = app.get(&app.purl("/groups_types/0/groups/acme?as_of=2026-05-01T12:00:00Z"));
    assert_eq!(g["group_properties"], json!({"plan": "free", "seats": 1}));
    let bad = app.find_group("group_type_index=0&group_key=acme&as_of=yesterday");
    assert_eq!((bad.0, bad.1["attr"].as_str()), (400, Some("as_of")));
    let bad = app.list_groups("group_type_index=0&as_of=2026-13-01");
    assert_eq!((bad.0, bad.1["attr"].as_str()), (400, Some("as_of")));
}

/// `export` takes `as_of` as find and list do (lifecycle.md): each group as it was then, and only
/// the groups that existed.
#[test]
fn an_as_of_export_writes_the_groups_as_they_were() {
    let app = TestApp::spawn();
    out_of_order(&app);
    identify(
        &app,
        "initech",
        "0190c4a1-0000-7000-8000-000000000019",
        "2026-05-05T00:00:00Z",
        json!({"plan": "x"}),
    );
    let export = |query: &str| {
        let resp = app
            .request("GET", &app.purl(&format!("/groups/export?{query}")))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().unwrap();
        let lines: Vec<Value> = body
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (status, lines, body)
    };
    let (status, lines, body) = export("group_type_index=0&as_of=2026-05-02T12:00:00Z");
    assert_eq!(status, 200, "{body}");
    assert_eq!(lines.len(), 1, "initech did not exist yet: {body}");
    assert_eq!(lines[0]["group_key"], "acme");
    assert_eq!(lines[0]["properties"], json!({"plan": "pro", "seats": 1}));
    let (_, now, _) = export("group_type_index=0");
    assert_eq!(now.len(), 2);
    let (status, _, body) = export("group_type_index=0&as_of=yesterday");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"attr\":\"as_of\""), "{body}");
}
