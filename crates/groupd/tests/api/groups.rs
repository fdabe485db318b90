//! `/api/projects/:id/groups/…` (spec groups.md).
use std::collections::BTreeSet;

use base64::{Engine, engine::general_purpose::URL_SAFE};
use serde_json::{Value, json};

use crate::helpers::*;

fn keys(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group_key"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn create_then_find_returns_the_group_with_notebook_null() {
    let app = TestApp::spawn();
    let idx = app.create_type("company");
    let created = app.create_group(
        idx,
        "acme",
        json!({"name": "Acme", "seats": 12, "tags": ["a"], "nested": {"x": 1}}),
    );
    assert_eq!(created["group_key"], "acme");
    assert_eq!(created["group_type_index"], 0);
    let created_at = created["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z'), "{created_at}");

    let (status, found) = read(
        app.get(&app.purl("/groups/find?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
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
    app.create_type("company");
    app.create_group(0, "Acme", json!({}));
    let got = read(
        app.get(&app.purl("/groups/find?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
    assert_error(&got, 404, "not_found", "Not found.", None);
    let got = read(
        app.get(&app.purl("/groups/find/?group_type_index=0&group_key=Acme"))
            .send()
            .unwrap(),
    );
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
        let got = read(
            app.get(&app.purl(&format!("/groups/find{q}")))
                .send()
                .unwrap(),
        );
        assert_error(&got, 400, "invalid_input", detail, Some(attr));
    }
}

#[test]
fn create_validates_every_field() {
    let app = TestApp::spawn();
    app.create_type("company");
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
        let got = read(app.post(&app.purl("/groups/"), &body).send().unwrap());
        assert_error(&got, 400, code, detail, Some(attr));
    }
    let got = read(
        app.post(
            &app.purl("/groups/"),
            &json!({"group_type_index": 0, "group_key": "a", "group_properties": [1]}),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(got.0, 400);
    assert_eq!(got.1["attr"], "group_properties");
    // Nothing was stored by any refused request.
    let (_, page) = read(
        app.get(&app.purl("/groups/?group_type_index=0"))
            .send()
            .unwrap(),
    );
    assert_eq!(page["results"], json!([]));
    let (_, page) = read(
        app.get(&app.purl("/groups/?group_type_index=7"))
            .send()
            .unwrap(),
    );
    assert_eq!(page["results"], json!([]));
}

#[test]
fn a_400_character_key_is_accepted_and_properties_may_be_null() {
    let app = TestApp::spawn();
    app.create_type("company");
    let key = "é".repeat(400);
    let got = read(
        app.post(
            &app.purl("/groups/"),
            &json!({"group_type_index": 0, "group_key": key, "group_properties": null}),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(got.0, 201, "{}", got.1);
    assert_eq!(got.1["group_properties"], json!({}));
}

#[test]
fn creating_an_existing_key_is_refused() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_group(0, "acme", json!({"a": 1}));
    let got = read(
        app.post(
            &app.purl("/groups/"),
            &json!({"group_type_index": 0, "group_key": "acme", "group_properties": {"a": 2}}),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(
        got,
        (
            400,
            json!({"type": "validation_error", "code": "invalid_input", "detail": "A group with this key already exists", "attr": "detail"})
        )
    );
    let (_, found) = read(
        app.get(&app.purl("/groups/find?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
    assert_eq!(found["group_properties"], json!({"a": 1}));
}

#[test]
fn list_requires_an_integer_group_type_index() {
    let app = TestApp::spawn();
    let got = read(app.get(&app.purl("/groups/")).send().unwrap());
    assert_error(
        &got,
        400,
        "invalid_input",
        "You must pass ?group_type_index= in this URL. To get a list of valid group types, call /api/:project_id/groups_types/.",
        Some("group_type_index"),
    );
    let got = read(
        app.get(&app.purl("/groups/?group_type_index=1.5"))
            .send()
            .unwrap(),
    );
    assert_error(
        &got,
        400,
        "invalid_input",
        "A valid integer is required.",
        Some("group_type_index"),
    );
    let got = read(
        app.get(&app.purl("/groups?group_type_index=4"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        got,
        (200, json!({"next": null, "previous": null, "results": []}))
    );
}

#[test]
fn list_pages_through_every_group_once_in_order() {
    let app = TestApp::spawn();
    app.create_type("company");
    for i in 0..25 {
        app.create_group(0, &format!("g{i:02}"), json!({"i": i}));
    }
    let mut url = app.purl("/groups/?group_type_index=0&limit=10");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = read(app.get(&url).send().unwrap());
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["previous"], Value::Null);
        seen.extend(keys(&page));
        pages += 1;
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&app.server.base), "absolute URL: {next}");
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
    app.create_type("company");
    for k in ["a", "b", "c", "d", "e"] {
        app.create_group(0, k, json!({}));
    }
    // Craft a cursor at the newest group's time: rows with an equal time and a smaller key follow.
    let (_, first) = read(
        app.get(&app.purl("/groups/?group_type_index=0&limit=2"))
            .send()
            .unwrap(),
    );
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
    let (_, second) = read(app.get(&next).send().unwrap());
    assert_eq!(keys(&second), ["c", "b"]);
}

#[test]
fn undecodable_cursors_serve_the_first_page() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_group(0, "a", json!({}));
    let no_k = URL_SAFE.encode(r#"{"c": 1}"#);
    for cursor in ["%%%", "bm90IGpzb24=", no_k.as_str()] {
        let (status, page) = read(
            app.get(&app.purl(&format!("/groups/?group_type_index=0&cursor={cursor}")))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200);
        assert_eq!(keys(&page), ["a"], "cursor {cursor}");
    }
}

#[test]
fn a_millisecond_cursor_is_understood() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_group(0, "a", json!({}));
    // Far in the future, in milliseconds: everything is older, so the page holds the group.
    let ms = URL_SAFE.encode(r#"{"c": 4102444800000, "k": "zzz"}"#);
    let (_, page) = read(
        app.get(&app.purl(&format!("/groups/?group_type_index=0&cursor={ms}")))
            .send()
            .unwrap(),
    );
    assert_eq!(keys(&page), ["a"]);
    // At the epoch: nothing is older.
    let zero = URL_SAFE.encode(r#"{"c": 0, "k": "a"}"#);
    let (_, page) = read(
        app.get(&app.purl(&format!("/groups/?group_type_index=0&cursor={zero}")))
            .send()
            .unwrap(),
    );
    assert_eq!(keys(&page), Vec::<String>::new());
}

#[test]
fn search_matches_values_names_and_exact_keys_case_insensitively() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_group(
        0,
        "acme",
        json!({"name": "Acme Corp", "industry": "Technology"}),
    );
    app.create_group(0, "globex", json!({"name": "Globex", "Plan": "enterprise"}));
    app.create_group(0, "ÉCOLE", json!({"name": "École"}));
    app.create_group(0, "pct", json!({"name": "100% real_deal"}));
    app.create_group(0, "pct2", json!({"name": "100x realXdeal"}));
    app.create_group(0, "slash", json!({"path": "a\\b"}));
    let search = |q: &str| -> BTreeSet<String> {
        let url = format!(
            "{}?group_type_index=0&search={}",
            app.purl("/groups/"),
            urlencode(q)
        );
        let (status, page) = read(app.get(&url).send().unwrap());
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
    app.create_type("company");
    for k in ["Alpha-1", "alpha_2", "beta%", "gamma"] {
        app.create_group(0, k, json!({}));
    }
    let filter = |q: &str| -> BTreeSet<String> {
        let url = format!(
            "{}?group_type_index=0&group_key={}",
            app.purl("/groups/"),
            urlencode(q)
        );
        keys(&read(app.get(&url).send().unwrap()).1)
            .into_iter()
            .collect()
    };
    assert_eq!(filter("ALPHA").len(), 2);
    assert_eq!(filter("_"), ["alpha_2".to_string()].into());
    assert_eq!(filter("%"), ["beta%".to_string()].into());
    assert_eq!(filter("a-1"), ["Alpha-1".to_string()].into());
}

#[test]
fn next_keeps_search_and_group_key_filters() {
    let app = TestApp::spawn();
    app.create_type("company");
    for i in 0..3 {
        app.create_group(0, &format!("k{i}"), json!({"tier": "gold plan"}));
    }
    let url = format!(
        "{}?group_type_index=0&search=gold%20plan&group_key=k&limit=2",
        app.purl("/groups/")
    );
    let (_, page) = read(app.get(&url).send().unwrap());
    let next = page["next"].as_str().unwrap();
    assert!(
        next.contains("&search=gold+plan&group_key=k&limit=2"),
        "{next}"
    );
    let (_, page2) = read(app.get(next).send().unwrap());
    assert_eq!(keys(&page2), ["k0"]);
    assert_eq!(page2["next"], Value::Null);
}

#[test]
fn update_property_sets_and_records_activity() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_group(0, "acme", json!({"industry": "finance"}));
    let upd = |body: Value| {
        read(
            app.post(
                &app.purl("/groups/update_property?group_type_index=0&group_key=acme"),
                &body,
            )
            .send()
            .unwrap(),
        )
    };
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

    let (status, act) = read(
        app.get(&app.purl("/groups/activity?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
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
    app.create_type("company");
    app.create_group(0, "acme", json!({}));
    let post = |q: &str, body: Value| {
        read(
            app.post(&app.purl(&format!("/groups/update_property{q}")), &body)
                .send()
                .unwrap(),
        )
    };
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
    app.create_type("company");
    app.create_group(0, "acme", json!({"plan": "pro", "seats": 3}));
    let del = |body: Value| {
        read(
            app.post(
                &app.purl("/groups/delete_property?group_type_index=0&group_key=acme"),
                &body,
            )
            .send()
            .unwrap(),
        )
    };
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
    let (_, act) = read(
        app.get(&app.purl("/groups/activity?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
    assert_eq!(act["results"][0]["activity"], "update_property");
    assert_eq!(
        act["results"][0]["detail"]["changes"],
        json!([{"type": "Group", "action": "deleted", "field": null, "before": "pro", "after": null}])
    );
}

#[test]
fn activity_pages_with_links_and_total_count() {
    let app = TestApp::spawn();
    app.create_type("company");
    let props: serde_json::Map<String, Value> =
        (0..5).map(|i| (format!("p{i}"), json!(i))).collect();
    app.create_group(0, "acme", Value::Object(props));
    let url = |q: &str| {
        app.purl(&format!(
            "/groups/activity?group_type_index=0&group_key=acme{q}"
        ))
    };
    let (_, p1) = read(app.get(&url("&limit=2")).send().unwrap());
    assert_eq!(p1["total_count"], 5);
    assert_eq!(p1["results"].as_array().unwrap().len(), 2);
    assert_eq!(p1["previous"], Value::Null);
    let next = p1["next"].as_str().unwrap();
    assert!(
        next.starts_with(&app.server.base) && next.contains("page=2"),
        "{next}"
    );
    let (_, p3) = read(app.get(&url("&limit=2&page=3")).send().unwrap());
    assert_eq!(p3["results"].as_array().unwrap().len(), 1);
    assert_eq!(p3["next"], Value::Null);
    assert!(p3["previous"].as_str().unwrap().contains("page=2"));
    // Past the end: 200, empty.
    let (status, p9) = read(app.get(&url("&limit=2&page=9")).send().unwrap());
    assert_eq!((status, p9["results"].clone()), (200, json!([])));
    // `id` is accepted as the key's name.
    let (status, by_id) = read(
        app.get(&app.purl("/groups/activity?group_type_index=0&id=acme"))
            .send()
            .unwrap(),
    );
    assert_eq!((status, by_id["total_count"].clone()), (200, json!(5)));
    for bad in ["&page=0", "&page=x", "&limit=0", "&limit=-3"] {
        let (status, body) = read(app.get(&url(bad)).send().unwrap());
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let got = read(
        app.get(&app.purl("/groups/activity?group_type_index=0&group_key=nope"))
            .send()
            .unwrap(),
    );
    assert_error(&got, 404, "not_found", "Not found.", None);
}

#[test]
fn property_definitions_count_names_per_type() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_type("project");
    app.create_type("empty");
    app.create_group(0, "a", json!({"name": "A", "industry": "x"}));
    app.create_group(0, "b", json!({"name": "B", "industry": "y"}));
    app.create_group(0, "c", json!({"name": "C", "industry": "y", "zeta": 1}));
    app.create_group(1, "p", json!({"plan": "pro"}));
    let (status, defs) = read(
        app.get(&app.purl("/groups/property_definitions"))
            .send()
            .unwrap(),
    );
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
    app.create_type("company");
    app.create_group(
        0,
        "a",
        json!({"industry": "technology", "seats": 12, "paid": true}),
    );
    app.create_group(
        0,
        "b",
        json!({"industry": "technology", "seats": 12.5, "paid": false}),
    );
    app.create_group(0, "c", json!({"industry": "finance", "seats": [1, 2]}));
    app.create_group(0, "d", json!({"other": 1}));
    let values = |q: &str| {
        read(
            app.get(&app.purl(&format!("/groups/property_values?group_type_index=0{q}")))
                .send()
                .unwrap(),
        )
    };
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
    let got = read(
        app.get(&app.purl("/groups/property_values?key=industry"))
            .send()
            .unwrap(),
    );
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
    app.create_type("company");
    app.create_group(0, "acme", json!({"secret": "p1"}));
    let p2 = app.db.create_project("Other")["id"].as_i64().unwrap();
    let p2url = |rest: &str| app.url(&format!("/api/projects/{p2}{rest}"));
    let (status, page) = read(
        app.get(&p2url("/groups/?group_type_index=0&search=p1"))
            .send()
            .unwrap(),
    );
    assert_eq!((status, page["results"].clone()), (200, json!([])));
    let got = read(
        app.get(&p2url("/groups/find?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
    assert_eq!(got.0, 404);
    let (_, defs) = read(
        app.get(&p2url("/groups/property_definitions"))
            .send()
            .unwrap(),
    );
    assert_eq!(defs, json!({}));
    // Project 2 can have its own "acme".
    let r = read(
        app.post(&p2url("/groups_types/"), &json!({"group_type": "company"}))
            .send()
            .unwrap(),
    );
    assert_eq!(r.0, 201);
    let r = read(
        app.post(
            &p2url("/groups/"),
            &json!({"group_type_index": 0, "group_key": "acme"}),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(r.0, 201, "{}", r.1);
}

#[test]
fn the_environments_alias_serves_the_same_groups() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_group(0, "acme", json!({}));
    let (status, found) = read(
        app.get(&app.url("/api/environments/1/groups/find?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
    assert_eq!((status, found["group_key"].clone()), (200, json!("acme")));
    let (status, found) = read(
        app.get(&app.url("/api/projects/@current/groups/find/?group_type_index=0&group_key=acme"))
            .send()
            .unwrap(),
    );
    assert_eq!((status, found["group_key"].clone()), (200, json!("acme")));
}

#[test]
fn form_encoded_bodies_work_where_the_body_is_flat() {
    let app = TestApp::spawn();
    app.create_type("company");
    let r = app
        .client
        .post(app.purl("/groups/"))
        .bearer_auth(&app.key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("group_type_index=0&group_key=form+co")
        .send()
        .unwrap();
    let (status, body) = read(r);
    assert_eq!((status, body["group_key"].clone()), (201, json!("form co")));
    let r = app
        .client
        .post(app.purl("/groups/update_property?group_type_index=0&group_key=form%20co"))
        .bearer_auth(&app.key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("key=plan&value=pro")
        .send()
        .unwrap();
    assert_eq!(read(r).1["group_properties"], json!({"plan": "pro"}));
}

/// Percent-encodes everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn definitions_values_and_search_follow_every_change() {
    let app = TestApp::spawn();
    app.create_type("company");
    app.create_group(0, "a", json!({"plan": "pro", "tier": "gold"}));
    app.create_group(0, "b", json!({"plan": "pro"}));
    let values = |key: &str| {
        read(
            app.get(&app.purl(&format!(
                "/groups/property_values?group_type_index=0&key={key}"
            )))
            .send()
            .unwrap(),
        )
        .1["results"]
            .clone()
    };
    let defs = || {
        read(
            app.get(&app.purl("/groups/property_definitions"))
                .send()
                .unwrap(),
        )
        .1
    };
    let search = |q: &str| {
        keys(
            &read(
                app.get(&app.purl(&format!("/groups/?group_type_index=0&search={q}")))
                    .send()
                    .unwrap(),
            )
            .1,
        )
    };
    assert_eq!(values("plan"), json!([{"name": "pro", "count": 2}]));
    // Change a value: one count moves.
    app.post(
        &app.purl("/groups/update_property?group_type_index=0&group_key=b"),
        &json!({"key": "plan", "value": "free"}),
    )
    .send()
    .unwrap();
    assert_eq!(
        values("plan"),
        json!([{"name": "free", "count": 1}, {"name": "pro", "count": 1}])
    );
    assert_eq!(search("free"), ["b"]);
    assert_eq!(search("pro"), ["a"]);
    // Remove a property: its name and value counts go.
    app.post(
        &app.purl("/groups/delete_property?group_type_index=0&group_key=a"),
        &json!({"$unset": "tier"}),
    )
    .send()
    .unwrap();
    assert_eq!(values("tier"), json!([]));
    assert_eq!(defs(), json!({"0": [{"name": "plan", "count": 2}]}));
    assert_eq!(search("gold"), Vec::<String>::new());
    // Through capture too.
    let t = app.project["api_token"].as_str().unwrap();
    let ev = json!({"api_key": t, "event": "$groupidentify", "distinct_id": "u",
                    "properties": {"$group_type": "company", "$group_key": "a", "$group_set": {"plan": "free"}}});
    assert_eq!(
        app.client
            .post(app.url("/e/"))
            .json(&ev)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(values("plan"), json!([{"name": "free", "count": 2}]));
    assert_eq!(search("free").len(), 2);
    // Deleting the type forgets everything.
    assert_eq!(
        app.client
            .delete(app.purl("/groups_types/0"))
            .bearer_auth(&app.key)
            .send()
            .unwrap()
            .status(),
        204
    );
    assert_eq!(defs(), json!({}));
    app.create_type("company");
    assert_eq!(values("plan"), json!([]));
    assert_eq!(search("free"), Vec::<String>::new());
}
