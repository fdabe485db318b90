//! `/api/projects/{id}/groups/…`: list, find, create, property updates, activity, property
//! definitions and values.
use std::collections::BTreeSet;

use base64::{Engine, engine::general_purpose::URL_SAFE};
use serde_json::{Value, json};

use crate::helpers::*;

#[test]
fn create_then_find_returns_the_group_with_notebook_null() {
    let app = TestApp::spawn();
    let idx = app.new_type("company");
    let created = app.new_group(
        idx,
        "acme",
        json!({"name": "Acme", "seats": 12, "tags": ["a"], "nested": {"x": 1}}),
    );
    assert_eq!(created["group_key"], "acme");
    assert_eq!(created["group_type_index"], 0);
    let created_at = created["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z'), "{created_at}");

    let (status, found) = app.find_group("group_type_index=0&group_key=acme");
    assert_eq!(status, 200);
    assert_eq!(found["notebook"], Value::Null);
    assert_eq!(found["created_at"], created_at);
    // Key order is kept as stored.
    let text = serde_json::to_string(&found["group_properties"]).unwrap();
    assert_eq!(
        text,
        r#"{"name":"Acme","seats":12,"tags":["a"],"nested":{"x":1}}"#
    );
}

#[test]
fn find_is_exact_and_case_sensitive() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "Acme", json!({}));
    let got = app.find_group("group_type_index=0&group_key=acme");
    assert_not_found(&got);
    let got = app.find_group("group_type_index=0&group_key=Acme");
    assert_eq!(got.0, 200);
}

#[test]
fn find_checks_its_query_parameters() {
    let app = TestApp::spawn();
    let cases = [
        ("", "group_type_index", "This query parameter is required."),
        (
            "?group_type_index=&group_key=a",
            "group_type_index",
            "This query parameter is required.",
        ),
        (
            "?group_type_index=0",
            "group_key",
            "This query parameter is required.",
        ),
        (
            "?group_type_index=0&group_key=",
            "group_key",
            "This query parameter is required.",
        ),
        (
            "?group_type_index=x&group_key=a",
            "group_type_index",
            "A valid integer is required.",
        ),
        (
            "?group_type_index=99999999999999999999999&group_key=a",
            "group_type_index",
            "A valid integer is required.",
        ),
    ];
    for (q, attr, detail) in cases {
        let got = app.get(&app.purl(&format!("/groups/find{q}")));
        assert_error(&got, 400, "invalid_input", detail, Some(attr));
    }
}

#[test]
fn create_validates_every_field() {
    let app = TestApp::spawn();
    app.new_type("company");
    let long = "k".repeat(401);
    let cases = [
        (
            json!({"group_type_index": 0}),
            "required",
            "This field is required.",
            "group_key",
        ),
        (
            json!({"group_type_index": 0, "group_key": null}),
            "null",
            "This field may not be null.",
            "group_key",
        ),
        (
            json!({"group_type_index": 0, "group_key": ""}),
            "blank",
            "This field may not be blank.",
            "group_key",
        ),
        (
            json!({"group_type_index": 0, "group_key": long}),
            "max_length",
            "Ensure this field has no more than 400 characters.",
            "group_key",
        ),
        (
            json!({"group_key": "a"}),
            "required",
            "This field is required.",
            "group_type_index",
        ),
        (
            json!({"group_type_index": null, "group_key": "a"}),
            "null",
            "This field may not be null.",
            "group_type_index",
        ),
        (
            json!({"group_type_index": "zero", "group_key": "a"}),
            "invalid_input",
            "A valid integer is required.",
            "group_type_index",
        ),
        (
            json!({"group_type_index": 7, "group_key": "a"}),
            "invalid_input",
            "Group type 7 does not exist in this project.",
            "group_type_index",
        ),
    ];
    for (body, code, detail, attr) in cases {
        let got = app.create_group(&body);
        assert_error(&got, 400, code, detail, Some(attr));
    }
    let got = app
        .create_group(&json!({"group_type_index": 0, "group_key": "a", "group_properties": [1]}));
    assert_eq!(got.0, 400);
    assert_eq!(got.1["attr"], "group_properties");
    // Nothing was stored by any refused request.
    let (_, page) = app.list_groups("group_type_index=0");
    assert_eq!(page["results"], json!([]));
    let (_, page) = app.list_groups("group_type_index=7");
    assert_eq!(page["results"], json!([]));
}

#[test]
fn a_400_character_key_is_accepted_and_properties_may_be_null() {
    let app = TestApp::spawn();
    app.new_type("company");
    let key = "é".repeat(400);
    let got = app
        .create_group(&json!({"group_type_index": 0, "group_key": key, "group_properties": null}));
    assert_eq!(got.0, 201, "{}", got.1);
    assert_eq!(got.1["group_properties"], json!({}));
}

#[test]
fn creating_an_existing_key_is_refused() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"a": 1}));
    let got = app.create_group(
        &json!({"group_type_index": 0, "group_key": "acme", "group_properties": {"a": 2}}),
    );
    assert_eq!(
        got,
        (
            400,
            json!({"type": "validation_error", "code": "invalid_input", "detail": "A group with this key already exists", "attr": "detail"})
        )
    );
    let (_, found) = app.find_group("group_type_index=0&group_key=acme");
    assert_eq!(found["group_properties"], json!({"a": 1}));
}

#[test]
fn list_requires_an_integer_group_type_index() {
    let app = TestApp::spawn();
    let got = app.list_groups("");
    assert_error(
        &got,
        400,
        "invalid_input",
        "You must pass ?group_type_index= in this URL. To get a list of valid group types, call /api/:project_id/groups_types/.",
        Some("group_type_index"),
    );
    let got = app.list_groups("group_type_index=1.5");
    assert_not_an_integer(&got, "group_type_index");
    let got = app.get(&app.purl("/groups?group_type_index=4"));
    assert_eq!(
        got,
        (200, json!({"next": null, "previous": null, "results": []}))
    );
}

#[test]
fn list_pages_through_every_group_once_in_order() {
    let app = TestApp::spawn();
    app.new_type("company");
    for i in 0..25 {
        // A second apart: the order is by time, not only by key.
        app.clock().set(T0_US + i * 1_000_000);
        app.new_group(0, &format!("g{i:02}"), json!({"i": i}));
    }
    let mut url = app.purl("/groups/?group_type_index=0&limit=10");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = app.get(&url);
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["previous"], Value::Null);
        seen.extend(keys(&page));
        pages += 1;
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&app.base), "absolute URL: {next}");
                assert!(
                    next.contains("/api/projects/1/groups/?group_type_index=0&cursor="),
                    "{next}"
                );
                assert!(next.ends_with("&limit=10"), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // Newest first: created in order g00..g24, so listed g24..g00.
    let expected: Vec<String> = (0..25).rev().map(|i| format!("g{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn equal_created_at_pages_by_key_descending() {
    // Groups created in one instant are ordered by key, and the cursor splits them correctly.
    let app = TestApp::spawn();
    app.new_type("company");
    for k in ["a", "b", "c", "d", "e"] {
        app.new_group(0, k, json!({}));
    }
    // Craft a cursor at the newest group's time: rows with an equal time and a smaller key follow.
    let (_, first) = app.list_groups("group_type_index=0&limit=2");
    assert_eq!(keys(&first), ["e", "d"]);
    let next = first["next"].as_str().unwrap().to_owned();
    let cursor = next
        .split("cursor=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .replace("%3D", "=");
    let decoded: Value = serde_json::from_slice(&URL_SAFE.decode(&cursor).unwrap()).unwrap();
    assert_eq!(decoded["k"], "d");
    let text = String::from_utf8(URL_SAFE.decode(&cursor).unwrap()).unwrap();
    assert!(
        text.starts_with("{\"c\": ") && text.contains(", \"k\": \"d\"}"),
        "python separators: {text}"
    );
    let (_, second) = app.get(&next);
    assert_eq!(keys(&second), ["c", "b"]);
}

#[test]
fn undecodable_cursors_serve_the_first_page() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "a", json!({}));
    let no_k = URL_SAFE.encode(r#"{"c": 1}"#);
    for cursor in ["%%%", "bm90IGpzb24=", no_k.as_str()] {
        let (status, page) = app.list_groups(&format!("group_type_index=0&cursor={cursor}"));
        assert_eq!(status, 200);
        assert_eq!(keys(&page), ["a"], "cursor {cursor}");
    }
}

#[test]
fn a_millisecond_cursor_is_understood() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "a", json!({}));
    // Far in the future, in milliseconds: everything is older, so the page holds the group.
    let ms = URL_SAFE.encode(r#"{"c": 4102444800000, "k": "zzz"}"#);
    let (_, page) = app.list_groups(&format!("group_type_index=0&cursor={ms}"));
    assert_eq!(keys(&page), ["a"]);
    // At the epoch: nothing is older.
    let zero = URL_SAFE.encode(r#"{"c": 0, "k": "a"}"#);
    let (_, page) = app.list_groups(&format!("group_type_index=0&cursor={zero}"));
    assert_eq!(keys(&page), Vec::<String>::new());
}

#[test]
fn search_matches_values_names_and_exact_keys_case_insensitively() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(
        0,
        "acme",
        json!({"name": "Acme Corp", "industry": "Technology"}),
    );
    app.new_group(0, "globex", json!({"name": "Globex", "Plan": "enterprise"}));
    app.new_group(0, "ÉCOLE", json!({"name": "École"}));
    app.new_group(0, "pct", json!({"name": "100% real_deal"}));
    app.new_group(0, "pct2", json!({"name": "100x realXdeal"}));
    app.new_group(0, "slash", json!({"path": "a\\b"}));
    let search = |q: &str| -> BTreeSet<String> {
        let url = format!(
            "{}?group_type_index=0&search={}",
            app.purl("/groups/"),
            urlencode(q)
        );
        let (status, page) = app.get(&url);
        assert_eq!(status, 200, "{page}");
        keys(&page).into_iter().collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(search("technology"), set(&["acme"]));
    assert_eq!(search("PLAN"), set(&["globex"]), "property names match");
    assert_eq!(search("GLOBEX"), set(&["globex"]));
    assert_eq!(search("école"), set(&["ÉCOLE"]), "unicode case folding");
    assert_eq!(search("0%"), set(&["pct"]), "% is literal");
    assert_eq!(search("l_d"), set(&["pct"]), "_ is literal");
    assert_eq!(search("pct2"), set(&["pct2"]), "exact key");
    assert_eq!(
        search("PCT"),
        set(&["pct"]),
        "exact key, case-insensitive; no key substring"
    );
    assert_eq!(search("nothing-like-this"), set(&[]));
    assert_eq!(
        search("a\\\\b").len() + search("zzz").len(),
        search("a\\\\b").len()
    );
    // Empty search = no filter.
    assert_eq!(search("").len(), 6);
}

#[test]
fn group_key_filter_is_a_literal_case_insensitive_substring() {
    let app = TestApp::spawn();
    app.new_type("company");
    for k in ["Alpha-1", "alpha_2", "beta%", "gamma"] {
        app.new_group(0, k, json!({}));
    }
    let filter = |q: &str| -> BTreeSet<String> {
        let url = format!(
            "{}?group_type_index=0&group_key={}",
            app.purl("/groups/"),
            urlencode(q)
        );
        keys(&app.get(&url).1).into_iter().collect()
    };
    assert_eq!(filter("ALPHA").len(), 2);
    assert_eq!(filter("_"), ["alpha_2".to_string()].into());
    assert_eq!(filter("%"), ["beta%".to_string()].into());
    assert_eq!(filter("a-1"), ["Alpha-1".to_string()].into());
}

#[test]
fn next_keeps_search_and_group_key_filters() {
    let app = TestApp::spawn();
    app.new_type("company");
    for i in 0..3 {
        app.new_group(0, &format!("k{i}"), json!({"tier": "gold plan"}));
    }
    let url = format!(
        "{}?group_type_index=0&search=gold%20plan&group_key=k&limit=2",
        app.purl("/groups/")
    );
    let (_, page) = app.get(&url);
    let next = page["next"].as_str().unwrap();
    assert!(
        next.contains("&search=gold+plan&group_key=k&limit=2"),
        "{next}"
    );
    let (_, page2) = app.get(next);
    assert_eq!(keys(&page2), ["k0"]);
    assert_eq!(page2["next"], Value::Null);
}

#[test]
fn update_property_sets_and_records_activity() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"industry": "finance"}));
    let upd = |body: Value| app.update_property("group_type_index=0&group_key=acme", &body);
    let got = upd(json!({"key": "industry", "value": "technology"}));
    assert_eq!(got.0, 200);
    assert_eq!(got.1["group_properties"], json!({"industry": "technology"}));
    let got = upd(json!({"key": "seats", "value": 5}));
    assert_eq!(
        got.1["group_properties"],
        json!({"industry": "technology", "seats": 5})
    );
    // Same value again: no activity entry.
    upd(json!({"key": "seats", "value": 5}));

    let (status, act) = app.activity("group_type_index=0&group_key=acme");
    assert_eq!(status, 200);
    assert_eq!(act["total_count"], 3);
    let r = act["results"].as_array().unwrap();
    assert_eq!(r[0]["activity"], "create_property");
    assert_eq!(r[0]["detail"]["name"], "seats");
    assert_eq!(r[0]["detail"]["changes"][0]["action"], "created");
    assert_eq!(r[1]["activity"], "update_property");
    assert_eq!(
        r[1]["detail"]["changes"],
        json!([{"type": "Group", "action": "changed", "field": null, "before": "finance", "after": "technology"}])
    );
    assert_eq!(r[2]["activity"], "create_group");
    assert_eq!(r[2]["user"], json!({"first_name": "ci-key", "email": null}));
    assert_eq!(r[2]["scope"], "Group");
    assert!(r[2]["item_id"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(r[2]["detail"]["trigger"], Value::Null);
}

#[test]
fn update_property_checks_in_the_spec_order() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({}));
    let post = |q: &str, body: Value| app.update_property(q, &body);
    // Query parameters first, even with a bad body.
    assert_error(
        &post("?group_key=acme", json!({})),
        400,
        "invalid_input",
        "This query parameter is required.",
        Some("group_type_index"),
    );
    // Then existence.
    assert_error(
        &post("?group_type_index=0&group_key=nope", json!({})),
        404,
        "not_found",
        "Not found.",
        None,
    );
    // Then the body.
    let q = "?group_type_index=0&group_key=acme";
    assert_error(
        &post(q, json!({"value": 1})),
        400,
        "invalid_input",
        "This field is required.",
        Some("key"),
    );
    assert_error(
        &post(q, json!({"key": "", "value": 1})),
        400,
        "invalid_input",
        "This field is required.",
        Some("key"),
    );
    assert_error(
        &post(q, json!({"key": "a"})),
        400,
        "invalid_input",
        "This field is required.",
        Some("value"),
    );
    assert_error(
        &post(q, json!({"key": "a", "value": null})),
        400,
        "invalid_input",
        "This field is required.",
        Some("value"),
    );
    let ok = post(q, json!({"key": "obj", "value": {"nested": [1, false]}}));
    assert_eq!(
        ok.1["group_properties"]["obj"],
        json!({"nested": [1, false]})
    );
}

#[test]
fn delete_property_removes_and_refuses_absent_names() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"plan": "pro", "seats": 3}));
    let del = |body: Value| app.delete_property("group_type_index=0&group_key=acme", &body);
    let detail = "This field is required and must be a string (the property name to delete).";
    assert_error(
        &del(json!({})),
        400,
        "invalid_input",
        detail,
        Some("$unset"),
    );
    assert_error(
        &del(json!({"$unset": 5})),
        400,
        "invalid_input",
        detail,
        Some("$unset"),
    );
    assert_error(
        &del(json!({"$unset": "nope"})),
        400,
        "invalid_input",
        "Property 'nope' does not exist on this group.",
        Some("$unset"),
    );
    let got = del(json!({"$unset": "plan"}));
    assert_eq!(
        got,
        (
            200,
            json!({"group_type_index": 0, "group_key": "acme", "group_properties": {"seats": 3}, "created_at": got.1["created_at"]})
        )
    );
    let (_, act) = app.activity("group_type_index=0&group_key=acme");
    assert_eq!(act["results"][0]["activity"], "update_property");
    assert_eq!(
        act["results"][0]["detail"]["changes"],
        json!([{"type": "Group", "action": "deleted", "field": null, "before": "pro", "after": null}])
    );
}

#[test]
fn activity_pages_with_links_and_total_count() {
    let app = TestApp::spawn();
    app.new_type("company");
    let props: serde_json::Map<String, Value> =
        (0..5).map(|i| (format!("p{i}"), json!(i))).collect();
    app.new_group(0, "acme", Value::Object(props));
    let url = |q: &str| {
        app.purl(&format!(
            "/groups/activity?group_type_index=0&group_key=acme{q}"
        ))
    };
    let (_, p1) = app.get(&url("&limit=2"));
    assert_eq!(p1["total_count"], 5);
    assert_eq!(p1["results"].as_array().unwrap().len(), 2);
    assert_eq!(p1["previous"], Value::Null);
    let next = p1["next"].as_str().unwrap();
    assert!(
        next.starts_with(&app.base) && next.contains("page=2"),
        "{next}"
    );
    let (_, p3) = app.get(&url("&limit=2&page=3"));
    assert_eq!(p3["results"].as_array().unwrap().len(), 1);
    assert_eq!(p3["next"], Value::Null);
    assert!(p3["previous"].as_str().unwrap().contains("page=2"));
    // Past the end: 200, empty.
    let (status, p9) = app.get(&url("&limit=2&page=9"));
    assert_eq!((status, p9["results"].clone()), (200, json!([])));
    // `id` is accepted as the key's name.
    let (status, by_id) = app.activity("group_type_index=0&id=acme");
    assert_eq!((status, by_id["total_count"].clone()), (200, json!(5)));
    for bad in ["&page=0", "&page=x", "&limit=0", "&limit=-3"] {
        let (status, body) = app.get(&url(bad));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let got = app.activity("group_type_index=0&group_key=nope");
    assert_not_found(&got);
}

#[test]
fn property_definitions_count_names_per_type() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_type("project");
    app.new_type("empty");
    app.new_group(0, "a", json!({"name": "A", "industry": "x"}));
    app.new_group(0, "b", json!({"name": "B", "industry": "y"}));
    app.new_group(0, "c", json!({"name": "C", "industry": "y", "zeta": 1}));
    app.new_group(1, "p", json!({"plan": "pro"}));
    let (status, defs) = app.property_definitions();
    assert_eq!(status, 200);
    assert_eq!(
        defs,
        json!({"0": [{"name": "industry", "count": 3}, {"name": "name", "count": 3}, {"name": "zeta", "count": 1}],
               "1": [{"name": "plan", "count": 1}]})
    );
}

#[test]
fn property_values_count_distinct_values_as_text() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(
        0,
        "a",
        json!({"industry": "technology", "seats": 12, "paid": true}),
    );
    app.new_group(
        0,
        "b",
        json!({"industry": "technology", "seats": 12.5, "paid": false}),
    );
    app.new_group(0, "c", json!({"industry": "finance", "seats": [1, 2]}));
    app.new_group(0, "d", json!({"other": 1}));
    let values = |q: &str| app.property_values(&format!("group_type_index=0{q}"));
    let (status, v) = values("&key=industry");
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"results": [{"name": "technology", "count": 2}, {"name": "finance", "count": 1}], "refreshing": false})
    );
    let (_, v) = values("&key=seats");
    let names: BTreeSet<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["12", "12.5", "[1,2]"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let (_, v) = values("&key=paid");
    assert_eq!(
        v["results"],
        json!([{"name": "false", "count": 1}, {"name": "true", "count": 1}])
    );
    let (_, v) = values("&key=industry&value=TECH");
    assert_eq!(v["results"], json!([{"name": "technology", "count": 2}]));
    let (_, v) = values("&key=industry&value=%25");
    assert_eq!(v["results"], json!([]));
    assert_error(
        &values(""),
        400,
        "invalid_input",
        "This query parameter is required.",
        Some("key"),
    );
    let got = app.property_values("key=industry");
    assert_error(
        &got,
        400,
        "invalid_input",
        "This query parameter is required.",
        Some("group_type_index"),
    );
}

#[test]
fn projects_never_see_each_others_groups() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"secret": "p1"}));
    let p2 = app.in_project(&app.new_project("Other")["id"]);
    let (status, page) = p2.list_groups("group_type_index=0&search=p1");
    assert_eq!((status, page["results"].clone()), (200, json!([])));
    let got = p2.find(0, "acme");
    assert_eq!(got.0, 404);
    let (_, defs) = p2.property_definitions();
    assert_eq!(defs, json!({}));
    // Project 2 can have its own "acme".
    let r = p2.create_type(&json!({"group_type": "company"}));
    assert_eq!(r.0, 201);
    let r = p2.create_group(&json!({"group_type_index": 0, "group_key": "acme"}));
    assert_eq!(r.0, 201, "{}", r.1);
}

#[test]
fn the_environments_alias_serves_the_same_groups() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({}));
    let (status, found) =
        app.get(&app.url("/api/environments/1/groups/find?group_type_index=0&group_key=acme"));
    assert_eq!((status, found["group_key"].clone()), (200, json!("acme")));
    let (status, found) =
        app.get(&app.url("/api/projects/@current/groups/find/?group_type_index=0&group_key=acme"));
    assert_eq!((status, found["group_key"].clone()), (200, json!("acme")));
}

#[test]
fn form_encoded_bodies_work_where_the_body_is_flat() {
    let app = TestApp::spawn();
    app.new_type("company");
    const FORM: &str = "application/x-www-form-urlencoded";
    let (status, body) = app.call_raw(
        "POST",
        &app.purl("/groups/"),
        FORM,
        "group_type_index=0&group_key=form+co",
    );
    assert_eq!((status, body["group_key"].clone()), (201, json!("form co")));
    let url = app.purl("/groups/update_property?group_type_index=0&group_key=form%20co");
    let got = app.call_raw("POST", &url, FORM, "key=plan&value=pro");
    assert_eq!(got.1["group_properties"], json!({"plan": "pro"}));
}

#[test]
fn definitions_values_and_search_follow_every_change() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "a", json!({"plan": "pro", "tier": "gold"}));
    app.new_group(0, "b", json!({"plan": "pro"}));
    let values = |key: &str| {
        app.property_values(&format!("group_type_index=0&key={key}"))
            .1["results"]
            .clone()
    };
    let defs = || app.property_definitions().1;
    let search = |q: &str| keys(&app.list_groups(&format!("group_type_index=0&search={q}")).1);
    assert_eq!(values("plan"), json!([{"name": "pro", "count": 2}]));
    // Change a value: one count moves.
    let q = "group_type_index=0&group_key=b";
    assert_eq!(
        app.update_property(q, &json!({"key": "plan", "value": "free"}))
            .0,
        200
    );
    assert_eq!(
        values("plan"),
        json!([{"name": "free", "count": 1}, {"name": "pro", "count": 1}])
    );
    assert_eq!(search("free"), ["b"]);
    assert_eq!(search("pro"), ["a"]);
    // Remove a property: its name and value counts go.
    let q = "group_type_index=0&group_key=a";
    assert_eq!(app.delete_property(q, &json!({"$unset": "tier"})).0, 200);
    assert_eq!(values("tier"), json!([]));
    assert_eq!(defs(), json!({"0": [{"name": "plan", "count": 2}]}));
    assert_eq!(search("gold"), Vec::<String>::new());
    // Through capture too.
    let ev = json!({"api_key": app.token(), "event": "$groupidentify", "distinct_id": "u",
                    "properties": {"$group_type": "company", "$group_key": "a", "$group_set": {"plan": "free"}}});
    assert_eq!(app.capture("/e/", &ev).0, 200);
    assert_eq!(values("plan"), json!([{"name": "free", "count": 2}]));
    assert_eq!(search("free").len(), 2);
    // Deleting the type forgets everything.
    assert_eq!(app.delete_type("0").0, 204);
    assert_eq!(defs(), json!({}));
    app.new_type("company");
    assert_eq!(values("plan"), json!([]));
    assert_eq!(search("free"), Vec::<String>::new());
}

#[test]
fn created_at_and_activity_times_are_the_server_clock() {
    let app = TestApp::spawn();
    assert_eq!(app.project["created_at"], T0);
    let (_, t) = app.create_type(&json!({"group_type": "company"}));
    assert_eq!(t["created_at"], T0);
    let created = app.new_group(0, "acme", json!({"plan": "pro"}));
    assert_eq!(created["created_at"], T0);
    // 2026-06-01T00:01:30.000250Z
    app.clock().set(T0_US + 90_000_250);
    let q = "group_type_index=0&group_key=acme";
    let (status, g) = app.update_property(q, &json!({"key": "plan", "value": "team"}));
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["created_at"], T0, "a later change keeps created_at");
    let (_, act) = app.activity(q);
    let entries: Vec<(&Value, &Value)> = act["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["activity"], &e["created_at"]))
        .collect();
    assert_eq!(
        entries,
        [
            (
                &json!("update_property"),
                &json!("2026-06-01T00:01:30.000250Z")
            ),
            (&json!("create_group"), &json!(T0)),
        ]
    );
}
