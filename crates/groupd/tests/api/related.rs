//! `GET /groups/related`: distinct_ids and groups of other types seen on common events in the last
//! 90 days, in PostHog's actor shape; the window's edges; a reused type index.
use serde_json::{Value, json};

use crate::helpers::*;

/// One event of `distinct_id` at `ts` with `groups` (`{"company": "acme", …}`).
fn ev(distinct_id: &str, ts: &str, groups: Value) -> Value {
    json!({"event": "$pageview", "distinct_id": distinct_id, "timestamp": ts,
           "properties": {"$groups": groups}})
}

fn send(app: &TestApp, events: Vec<Value>) {
    let (status, body) = app.capture("/batch/", &json!({"api_key": app.token(), "batch": events}));
    assert_eq!(status, 200, "{body}");
}

fn related(app: &ApiClient, query: &str) -> (u16, Value) {
    app.get(&app.purl(&format!("/groups/related/?{query}")))
}

/// `type:id` of each actor, in order.
fn ids(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("a bare array: {body}"))
        .iter()
        .map(|a| match a["type"].as_str() {
            Some("group") => format!("{}:{}", a["group_type_index"], a["id"].as_str().unwrap()),
            _ => format!("person:{}", a["id"].as_str().unwrap()),
        })
        .collect()
}

/// company 0 (acme, globex), project 1 (p1, p2, p3, p4), team 2 (no groups stored).
fn loaded() -> TestApp {
    let app = TestApp::spawn();
    assert_eq!(app.new_type("company"), 0);
    assert_eq!(app.new_type("project"), 1);
    assert_eq!(app.new_type("team"), 2);
    app.new_group(0, "acme", json!({"name": "Acme"}));
    app.new_group(0, "globex", json!({}));
    for p in ["p1", "p2", "p3", "p4"] {
        app.new_group(1, p, json!({"n": p}));
    }
    send(
        &app,
        vec![
            ev(
                "u1",
                "2026-05-10T00:00:00Z",
                json!({"company": "acme", "project": "p1"}),
            ),
            ev(
                "u2",
                "2026-05-20T00:00:00Z",
                json!({"company": "acme", "project": "p2", "team": "t9"}),
            ),
            ev("u1", "2026-05-25T08:30:00Z", json!({"company": "acme"})),
            // Older than 90 days (the window starts after 2026-03-03T00:00:00Z).
            ev(
                "u3",
                "2026-02-01T00:00:00Z",
                json!({"company": "acme", "project": "p3"}),
            ),
            ev(
                "u4",
                "2026-05-15T00:00:00Z",
                json!({"company": "globex", "project": "p4"}),
            ),
        ],
    );
    app
}

#[test]
fn a_group_has_its_distinct_ids_newest_first_then_the_other_types_groups() {
    let app = loaded();
    let (status, body) = related(&app, "group_type_index=0&id=acme");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ids(&body),
        ["person:u2", "person:u1", "1:p1", "1:p2"],
        "{body}"
    );
    assert_eq!(
        body[1],
        json!({"type": "person", "id": "u1", "uuid": "u1", "distinct_ids": ["u1"], "name": "u1",
               "properties": {}, "is_identified": false, "created_at": "2026-05-10T00:00:00Z",
               "last_seen_at": "2026-05-25T08:30:00Z", "matched_recordings": [], "value_at_data_point": null})
    );
    assert_eq!(
        body[2],
        json!({"type": "group", "id": "p1", "group_key": "p1", "group_type_index": 1,
               "properties": {"n": "p1"}, "created_at": T0, "matched_recordings": [],
               "value_at_data_point": null})
    );
}

#[test]
fn a_distinct_id_has_the_groups_of_every_type_seen_on_its_events() {
    let app = loaded();
    let (status, body) = related(&app, "id=u2");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ids(&body),
        ["0:acme", "1:p2"],
        "t9 has no stored group: {body}"
    );
    let (_, body) = related(&app, "id=u3");
    assert_eq!(body, json!([]), "u3's only event is older than 90 days");
    let (_, body) = related(&app, "id=nobody&group_type_index=");
    assert_eq!(body, json!([]));
}

#[test]
fn an_unknown_group_or_a_type_without_events_relates_nothing() {
    let app = loaded();
    assert_eq!(
        related(&app, "group_type_index=0&id=initech"),
        (200, json!([]))
    );
    assert_eq!(
        related(&app, "group_type_index=3&id=acme"),
        (200, json!([]))
    );
}

#[test]
fn the_window_is_the_90_days_before_now_and_anything_later() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_type("project");
    app.new_group(1, "edge", json!({}));
    app.new_group(1, "inside", json!({}));
    app.new_group(1, "later", json!({}));
    send(
        &app,
        vec![
            ev(
                "u1",
                "2026-03-03T00:00:00Z",
                json!({"company": "acme", "project": "edge"}),
            ),
            ev(
                "u2",
                "2026-03-03T00:00:01Z",
                json!({"company": "acme", "project": "inside"}),
            ),
            // After the clock (capture accepts up to 23 h ahead).
            ev(
                "u3",
                "2026-06-01T05:00:00Z",
                json!({"company": "acme", "project": "later"}),
            ),
        ],
    );
    let (_, body) = related(&app, "group_type_index=0&id=acme");
    assert_eq!(
        ids(&body),
        ["person:u3", "person:u2", "1:inside", "1:later"],
        "{body}"
    );
}

#[test]
fn bad_parameters_are_400s_naming_them() {
    let app = loaded();
    let required = "This query parameter is required.";
    assert_error(
        &related(&app, "group_type_index=0"),
        400,
        "invalid_input",
        required,
        Some("id"),
    );
    assert_error(
        &related(&app, "id="),
        400,
        "invalid_input",
        required,
        Some("id"),
    );
    assert_not_an_integer(
        &related(&app, "id=a&group_type_index=x"),
        "group_type_index",
    );
    assert_error(
        &related(&app, "id=a&group_type_index=5"),
        400,
        "invalid_input",
        "Ensure this value is less than or equal to 4.",
        Some("group_type_index"),
    );
    assert_error(
        &related(&app, "id=a&group_type_index=-1"),
        400,
        "invalid_input",
        "Ensure this value is greater than or equal to 0.",
        Some("group_type_index"),
    );
    let wide = TestApp::spawn_with(&["--max-group-types", "8"]);
    assert_eq!(related(&wide, "id=a&group_type_index=7").0, 200);
}

#[test]
fn related_needs_group_read_and_stays_in_its_project() {
    let app = loaded();
    let q = app.as_key(&app.new_key("q", "query:read", &[]));
    assert_missing_scope(&related(&q, "id=u1"), "group:read");
    let r = app.as_key(&app.new_key("r", "group:read", &[]));
    assert_eq!(related(&r, "id=u1").0, 200);
    let other = app.new_project("Other");
    let (status, body) = related(
        &app.in_project(other["id"].clone()),
        "group_type_index=0&id=acme",
    );
    assert_eq!((status, body), (200, json!([])));
    assert_eq!(related(&app.in_project(999), "id=u1").0, 404);
}

#[test]
fn a_type_at_a_reused_index_does_not_inherit_older_events() {
    let app = TestApp::spawn();
    app.clock().set(T0_US - 20 * 86_400_000_000); // 2026-05-12
    assert_eq!(app.new_type("company"), 0);
    assert_eq!(app.new_type("project"), 1);
    app.new_group(1, "p1", json!({}));
    app.new_group(1, "p2", json!({}));
    send(
        &app,
        vec![ev(
            "u1",
            "2026-05-10T00:00:00Z",
            json!({"company": "acme", "project": "p1"}),
        )],
    );
    assert_eq!(
        ids(&related(&app, "group_type_index=0&id=acme").1),
        ["person:u1", "1:p1"]
    );

    assert_eq!(app.delete_type("0").0, 204);
    app.clock().set(T0_US - 18 * 86_400_000_000); // 2026-05-14
    assert_eq!(app.new_type("org"), 0, "the freed index is reused");
    app.new_group(0, "acme", json!({"new": true}));
    app.clock().set(T0_US);
    send(
        &app,
        vec![ev(
            "u2",
            "2026-05-20T00:00:00Z",
            json!({"org": "acme", "project": "p2"}),
        )],
    );

    let (_, body) = related(&app, "group_type_index=0&id=acme");
    assert_eq!(ids(&body), ["person:u2", "1:p2"], "{body}");
    let (_, body) = related(&app, "id=u1");
    assert_eq!(
        ids(&body),
        ["1:p1"],
        "u1's old company key is not the new org's: {body}"
    );
    let (_, body) = related(&app, "group_type_index=1&id=p1");
    assert_eq!(ids(&body), ["person:u1"], "{body}");

    // In segments the old events still do not count for the new type.
    let queries = [
        "group_type_index=0&id=acme",
        "id=u1",
        "group_type_index=1&id=p1",
    ];
    let before: Vec<_> = queries.iter().map(|q| related(&app, q)).collect();
    assert_eq!(crate::segments::compact(&app).events_moved, 2);
    let after: Vec<_> = queries.iter().map(|q| related(&app, q)).collect();
    assert_eq!(after, before);
}

/// What the twin apps below are asked: a group, a distinct_id, a group of the other type.
fn asked(app: &TestApp) -> Vec<(u16, Value)> {
    [
        "group_type_index=0&id=acme",
        "id=u1",
        "group_type_index=1&id=p1",
    ]
    .iter()
    .map(|q| related(app, q))
    .collect()
}

/// The same events, split between the segments and the hot tail in one app and all in the row
/// store in its twin, relate exactly the same actors (times, order, window edge included).
#[test]
fn events_moved_into_segments_relate_as_they_did_in_the_row_store() {
    let (split, hot) = (loaded(), loaded());
    let report = crate::segments::compact(&split);
    assert_eq!(report.events_moved, 5, "{report:?}");
    // Later events stay in the row store: u1 now spans a segment and the hot tail, and p3 is
    // seen inside the window only in the hot tail.
    let later = vec![
        ev(
            "u1",
            "2026-05-31T10:00:00Z",
            json!({"company": "acme", "project": "p3"}),
        ),
        ev("u5", "2026-05-01T00:00:00Z", json!({"company": "acme"})),
    ];
    send(&split, later.clone());
    send(&hot, later);
    let (got, want) = (asked(&split), asked(&hot));
    assert_eq!(
        ids(&want[0].1),
        [
            "person:u2",
            "person:u1",
            "person:u5",
            "1:p1",
            "1:p2",
            "1:p3"
        ],
        "{}",
        want[0].1
    );
    assert_eq!(want[0].1[1]["created_at"], "2026-05-10T00:00:00Z");
    assert_eq!(want[0].1[1]["last_seen_at"], "2026-05-31T10:00:00Z");
    assert_eq!(ids(&want[1].1), ["0:acme", "1:p1", "1:p3"], "{}", want[1].1);
    assert_eq!(ids(&want[2].1), ["person:u1", "0:acme"], "{}", want[2].1);
    assert_eq!(got, want);
}
