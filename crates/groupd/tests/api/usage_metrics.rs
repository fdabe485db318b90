//! Usage metrics: CRUD at `/groups_types/:index/metrics/` with PostHog's validation, and the values
//! through `POST /query/` with `kind: "UsageMetricsQuery"` (windows, change, sparklines), on the
//! test clock (now = 2026-06-01T00:00:00Z).
use serde_json::{Value, json};

use crate::helpers::*;

fn metrics_url(app: &ApiClient, index: &str, rest: &str) -> String {
    app.purl(&format!("/groups_types/{index}/metrics/{rest}"))
}

fn create(app: &ApiClient, index: &str, body: &Value) -> (u16, Value) {
    app.call_json("POST", &metrics_url(app, index, ""), body)
}

fn api_calls() -> Value {
    json!({"name": "API calls", "interval": 7, "display": "sparkline",
           "filters": {"events": [{"id": "api_request", "type": "events", "properties": []}], "properties": []}})
}

fn values(app: &ApiClient, index: i64, key: &str) -> (u16, Value) {
    let body = json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": index, "group_key": key}});
    app.call_json("POST", &app.purl("/query/"), &body)
}

#[test]
fn a_metric_is_created_with_defaults_read_changed_and_deleted() {
    let app = TestApp::spawn();
    app.new_type("company");
    let (status, m) = create(
        &app,
        "0",
        &json!({"name": "Logins", "filters": {"events": [{"id": "login"}]}}),
    );
    assert_eq!(status, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(
        m,
        json!({"id": id, "name": "Logins", "format": "numeric", "interval": 7, "display": "number",
               "filters": {"events": [{"id": "login"}]}, "math": "count", "math_property": null,
               "created_at": T0})
    );
    assert_eq!(
        app.get(&metrics_url(&app, "0", &format!("{id}/"))),
        (200, m.clone())
    );
    assert_eq!(
        app.get(&metrics_url(&app, "0", &id)).0,
        200,
        "without the slash too"
    );

    let (status, patched) = app.call_json(
        "PATCH",
        &metrics_url(&app, "0", &id),
        &json!({"math": "sum", "math_property": "amount", "format": "currency"}),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (
            &patched["name"],
            &patched["math"],
            &patched["math_property"],
            &patched["format"]
        ),
        (
            &json!("Logins"),
            &json!("sum"),
            &json!("amount"),
            &json!("currency")
        )
    );
    let (status, put) = app.call_json(
        "PUT",
        &metrics_url(&app, "0", &id),
        &json!({"name": "Sign-ins", "filters": {"properties": []}, "interval": 30}),
    );
    assert_eq!(status, 200, "{put}");
    assert_eq!(
        (
            &put["name"],
            &put["interval"],
            &put["math"],
            &put["created_at"]
        ),
        (&json!("Sign-ins"), &json!(30), &json!("sum"), &json!(T0)),
        "PUT keeps the unsent fields"
    );
    let (status, body) = app.call_json("PUT", &metrics_url(&app, "0", &id), &json!({"name": "x"}));
    assert_error(
        &(status, body),
        400,
        "required",
        "This field is required.",
        Some("filters"),
    );

    assert_eq!(app.call("DELETE", &metrics_url(&app, "0", &id)).0, 204);
    assert_not_found(&app.get(&metrics_url(&app, "0", &id)));
    assert_not_found(&app.call("DELETE", &metrics_url(&app, "0", &id)));
}

#[test]
fn the_list_is_paged_oldest_first() {
    let app = TestApp::spawn();
    app.new_type("company");
    for (i, name) in ["c", "a", "b"].iter().enumerate() {
        app.clock().set(T0_US + i as i64 * 1_000_000);
        assert_eq!(
            create(&app, "0", &json!({"name": name, "filters": {}})).0,
            201
        );
    }
    let (status, page) = app.get(&metrics_url(&app, "0", "?limit=2"));
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 3);
    let names: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c", "a"]);
    assert_eq!(page["previous"], Value::Null);
    let next = page["next"].as_str().unwrap().to_owned();
    assert!(
        next.ends_with("/groups_types/0/metrics/?limit=2&offset=2"),
        "{next}"
    );
    let (_, page2) = app.get(&next);
    assert_eq!(page2["results"][0]["name"], "b");
    assert_eq!(page2["next"], Value::Null);
    assert!(
        page2["previous"]
            .as_str()
            .unwrap()
            .ends_with("/metrics/?limit=2"),
        "{page2}"
    );
    let (_, other) = app.get(&metrics_url(&app, "1", ""));
    assert_eq!(
        other,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
}

#[test]
fn unknown_ids_other_types_and_other_projects_are_404() {
    let app = TestApp::spawn();
    app.new_type("company");
    let (_, m) = create(&app, "0", &api_calls());
    let id = m["id"].as_str().unwrap();
    assert_not_found(&app.get(&metrics_url(&app, "1", id)));
    assert_not_found(&app.get(&metrics_url(&app, "0", "not-a-uuid")));
    assert_not_found(&app.get(&metrics_url(
        &app,
        "0",
        "0190c4a1-0000-7000-8000-000000000001",
    )));
    let other = app.new_project("Other");
    let elsewhere = app.in_project(other["id"].clone());
    assert_not_found(&elsewhere.get(&metrics_url(&elsewhere, "0", id)));
    assert_not_found(&elsewhere.call("DELETE", &metrics_url(&elsewhere, "0", id)));
    assert_not_an_integer(&app.get(&metrics_url(&app, "x", "")), "group_type_index");
    assert_method_not_allowed(&app.call("PUT", &metrics_url(&app, "0", "")), "PUT");
}

#[test]
fn validation_reports_the_first_problem_in_posthogs_order() {
    let app = TestApp::spawn();
    app.new_type("company");
    assert_eq!(create(&app, "0", &api_calls()).0, 201);
    let f = json!({"events": [{"id": "x"}]});
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (json!({}), "name", "required", "This field is required."),
        (
            json!({"name": null, "filters": f}),
            "name",
            "null",
            "This field may not be null.",
        ),
        (
            json!({"name": " ", "filters": f}),
            "name",
            "blank",
            "This field may not be blank.",
        ),
        (
            json!({"name": "n".repeat(256), "filters": f}),
            "name",
            "max_length",
            "Ensure this field has no more than 255 characters.",
        ),
        (
            json!({"name": "API calls", "format": "bad"}),
            "name",
            "invalid_input",
            "A metric with this name already exists.",
        ),
        (
            json!({"name": "m", "format": "bad"}),
            "filters",
            "required",
            "This field is required.",
        ),
        (
            json!({"name": "m", "filters": []}),
            "filters",
            "invalid_input",
            "Filters must be an object.",
        ),
        (
            json!({"name": "m", "filters": {"properties": [{"key": "a", "value": "(", "operator": "regex"}]}}),
            "filters",
            "invalid_input",
            "filters.properties[0].value is not a valid regex.",
        ),
        (
            json!({"name": "m", "filters": f, "format": "bad", "display": "bad"}),
            "format",
            "invalid_input",
            "\"bad\" is not a valid choice.",
        ),
        (
            json!({"name": "m", "filters": f, "display": "pie", "math": "avg"}),
            "display",
            "invalid_input",
            "\"pie\" is not a valid choice.",
        ),
        (
            json!({"name": "m", "filters": f, "math": "avg", "interval": 0}),
            "math",
            "invalid_input",
            "\"avg\" is not a valid choice.",
        ),
        (
            json!({"name": "m", "filters": f, "interval": 0}),
            "interval",
            "invalid_input",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            json!({"name": "m", "filters": f, "interval": 366}),
            "interval",
            "invalid_input",
            "Ensure this value is less than or equal to 365.",
        ),
        (
            json!({"name": "m", "filters": f, "interval": "week"}),
            "interval",
            "invalid_input",
            "A valid integer is required.",
        ),
        (
            json!({"name": "m", "filters": f, "math": "sum"}),
            "math_property",
            "invalid_input",
            "math_property is required when math is 'sum'.",
        ),
        (
            json!({"name": "m", "filters": f, "math": "sum", "math_property": ""}),
            "math_property",
            "invalid_input",
            "math_property is required when math is 'sum'.",
        ),
        (
            json!({"name": "m", "filters": f, "math_property": "amount"}),
            "math_property",
            "invalid_input",
            "math_property must be empty when math is 'count'.",
        ),
    ];
    for (body, attr, code, detail) in cases {
        let got = create(&app, "0", &body);
        assert_error(&got, 400, code, detail, Some(attr));
    }
    assert_eq!(
        app.get(&metrics_url(&app, "0", "")).1["count"],
        1,
        "nothing refused was stored"
    );
    assert_eq!(
        create(&app, "1", &api_calls()).0,
        201,
        "names are unique per type"
    );
    let (_, second) = create(&app, "0", &json!({"name": "Other", "filters": {}}));
    let second_url = metrics_url(&app, "0", second["id"].as_str().unwrap());
    assert_error(
        &app.call_json("PATCH", &second_url, &json!({"name": "API calls"})),
        400,
        "invalid_input",
        "A metric with this name already exists.",
        Some("name"),
    );
    assert_error(
        &app.call_json("PATCH", &second_url, &json!({"math": "sum"})),
        400,
        "invalid_input",
        "math_property is required when math is 'sum'.",
        Some("math_property"),
    );
    assert_eq!(
        app.call_json("PATCH", &second_url, &json!({"name": "Other"}))
            .0,
        200,
        "its own name"
    );
}

#[test]
fn scopes_group_and_usage_metric_both_grant_metrics() {
    let app = TestApp::spawn();
    app.new_type("company");
    let read = app.as_key(&app.new_key("r", "group:read", &[]));
    assert_eq!(read.get(&metrics_url(&read, "0", "")).0, 200);
    assert_missing_scope(&create(&read, "0", &api_calls()), "usage_metric:write");
    let metric_write = app.as_key(&app.new_key("m", "usage_metric:write", &[]));
    assert_eq!(create(&metric_write, "0", &api_calls()).0, 201);
    assert_eq!(
        metric_write.get(&metrics_url(&metric_write, "0", "")).0,
        200
    );
    let query = app.as_key(&app.new_key("q", "query:read", &[]));
    assert_missing_scope(
        &query.get(&metrics_url(&query, "0", "")),
        "usage_metric:read",
    );
    assert_eq!(values(&query, 0, "acme").0, 200);
    assert_missing_scope(&values(&read, 0, "acme"), "query:read");
}

fn ev(name: &str, key: &str, ts: &str, props: Value) -> Value {
    let mut p = props.as_object().cloned().unwrap_or_default();
    p.insert("$groups".into(), json!({"company": key}));
    json!({"event": name, "distinct_id": "u1", "timestamp": ts, "properties": p})
}

/// acme (plan pro) and globex (plan free) with events across both windows.
fn loaded() -> TestApp {
    let app = TestApp::spawn();
    assert_eq!(app.new_type("company"), 0);
    app.new_group(0, "acme", json!({"plan": "pro"}));
    app.new_group(0, "globex", json!({"plan": "free"}));
    let mut batch = vec![];
    for ts in [
        "2026-05-25T00:00:00Z", // exactly now - 7 days: the current period's first instant
        "2026-05-29T10:00:00Z",
        "2026-05-31T10:00:00Z",
        "2026-05-31T11:00:00Z",
        "2026-05-31T12:00:00Z",
        "2026-05-19T00:00:00Z", // previous period: [05-18, 05-25)
        "2026-05-20T00:00:00Z",
        "2026-05-24T23:59:59Z",
        "2026-05-18T00:00:00Z",
        "2026-05-17T23:59:59Z", // before both
    ] {
        batch.push(ev("api_request", "acme", ts, json!({})));
    }
    batch.push(ev(
        "api_request",
        "globex",
        "2026-05-31T10:00:00Z",
        json!({}),
    ));
    batch.push(ev("$pageview", "acme", "2026-05-31T10:00:00Z", json!({})));
    for (ts, amount, plan) in [
        ("2026-05-31T10:00:00Z", json!(10), "pro"),
        ("2026-05-30T10:00:00Z", json!("5.5"), "pro"),
        ("2026-05-30T11:00:00Z", json!("abc"), "pro"),
        ("2026-05-29T10:00:00Z", json!(100), "free"),
        ("2026-04-20T10:00:00Z", json!(7), "pro"),
    ] {
        batch.push(ev(
            "purchase",
            "acme",
            ts,
            json!({"amount": amount, "plan": plan}),
        ));
    }
    let (status, body) = app.capture("/batch/", &json!({"api_key": app.token(), "batch": batch}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(create(&app, "0", &api_calls()).0, 201);
    let revenue = json!({"name": "Revenue", "interval": 30, "math": "sum", "math_property": "amount",
        "format": "currency",
        "filters": {"events": [{"id": "purchase", "properties": [{"key": "plan", "value": "pro", "operator": "exact", "type": "event"}]}]}});
    assert_eq!(create(&app, "0", &revenue).0, 201);
    let pro = json!({"name": "Pro activity", "interval": 7,
        "filters": {"properties": [{"key": "plan", "value": ["pro", "enterprise"], "operator": "exact", "type": "group", "group_type_index": 0}]}});
    assert_eq!(create(&app, "0", &pro).0, 201);
    assert_eq!(
        create(
            &app,
            "0",
            &json!({"name": "Zero", "filters": {"events": [], "properties": []}})
        )
        .0,
        201
    );
    app
}

#[test]
fn values_cover_both_windows_the_change_and_daily_sparklines() {
    let app = loaded();
    let (status, body) = values(&app, 0, "acme");
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Revenue", "Pro activity", "API calls"],
        "name descending, empty filters left out"
    );

    let calls = &results[2];
    assert_eq!(
        (&calls["value"], &calls["previous"]),
        (&json!(5.0), &json!(4.0))
    );
    assert_eq!(
        calls["change_from_previous_pct"],
        json!((5.0 - 4.0) / 4.0 * 100.0)
    );
    assert_eq!(
        calls["timeseries"],
        json!([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 3.0, 0.0])
    );
    assert_eq!(
        calls["timeseries_labels"],
        json!([
            "2026-05-25",
            "2026-05-26",
            "2026-05-27",
            "2026-05-28",
            "2026-05-29",
            "2026-05-30",
            "2026-05-31",
            "2026-06-01"
        ])
    );
    assert_eq!(
        (&calls["interval"], &calls["display"], &calls["format"]),
        (&json!(7), &json!("sparkline"), &json!("numeric"))
    );
    assert!(calls["id"].is_string());

    let revenue = &results[0];
    assert_eq!(
        (&revenue["value"], &revenue["previous"]),
        (&json!(15.5), &json!(7.0))
    );
    assert_eq!(
        revenue["change_from_previous_pct"],
        json!((15.5 - 7.0) / 7.0 * 100.0)
    );
    assert_eq!(
        (&revenue["timeseries"], &revenue["timeseries_labels"]),
        (&Value::Null, &Value::Null)
    );

    // Every acme event of the last 7 days: 5 api_request, 1 pageview, 4 purchases.
    assert_eq!(results[1]["value"], json!(10.0));
    let (_, globex) = values(&app, 0, "globex");
    let pro = &globex["results"][1];
    assert_eq!(
        (&pro["name"], &pro["value"]),
        (&json!("Pro activity"), &json!(0.0)),
        "globex is on free"
    );
}

#[test]
fn an_unknown_group_gets_zeros_and_a_null_change() {
    let app = loaded();
    let (status, body) = values(&app, 0, "initech");
    assert_eq!(status, 200, "{body}");
    for r in body["results"].as_array().unwrap() {
        assert_eq!(
            (&r["value"], &r["previous"], &r["change_from_previous_pct"]),
            (&json!(0.0), &json!(0.0), &Value::Null),
            "{r}"
        );
    }
    assert_eq!(body["results"][2]["timeseries"], json!(vec![0.0; 8]));
    assert_eq!(
        values(&app, 3, "acme"),
        (200, json!({"results": []})),
        "a type without metrics"
    );
}

#[test]
fn a_bad_usage_query_names_its_field() {
    let app = loaded();
    let url = app.purl("/query/");
    let got = app.call_json(
        "POST",
        &url,
        &json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": 0}}),
    );
    assert_error(
        &got,
        400,
        "required",
        "This field is required.",
        Some("group_key"),
    );
    let got = app.call_json(
        "POST",
        &url,
        &json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": "x", "group_key": "a"}}),
    );
    assert_not_an_integer(&got, "group_type_index");
    let got = app.call_json("POST", &url, &json!({"query": {"kind": "TrendsQuery"}}));
    assert_error(
        &got,
        400,
        "invalid_input",
        "Unsupported query kind: TrendsQuery",
        Some("kind"),
    );
}

#[test]
fn a_reused_index_starts_without_the_old_metrics_or_events() {
    let app = loaded();
    assert_eq!(app.delete_type("0").0, 204);
    assert_eq!(
        app.get(&metrics_url(&app, "0", "")).1["count"],
        0,
        "the type's metrics went with it"
    );
    // The old events were received at T0; the new type comes an hour later, and an event
    // (backdated, as SDK retries are) is received after it: only that one is the org's.
    app.clock().set(T0_US + 3_600_000_000);
    assert_eq!(app.new_type("org"), 0);
    app.clock().set(T0_US + 2 * 3_600_000_000);
    app.new_group(0, "acme", json!({}));
    let any = json!({"name": "Anything", "interval": 7, "filters": {"events": [{"id": null}]}});
    assert_eq!(create(&app, "0", &any).0, 201);
    let batch = json!({"api_key": app.token(), "batch": [
        {"event": "x", "distinct_id": "u", "timestamp": "2026-05-31T22:00:00Z", "properties": {"$groups": {"org": "acme"}}}]});
    assert_eq!(app.capture("/batch/", &batch).0, 200);
    let (_, body) = values(&app, 0, "acme");
    // Of acme's 16 events in [05-25, now], only the new one is the org's.
    assert_eq!(body["results"][0]["value"], json!(1.0), "{body}");
}

#[test]
fn the_schema_documents_the_new_routes() {
    let app = TestApp::spawn();
    let (status, doc) = app.anonymous().get(&app.url("/api/schema/"));
    assert_eq!(status, 200);
    for (path, methods) in [
        ("/api/projects/{project_id}/groups/related", &["get"][..]),
        ("/api/projects/{project_id}/property_definitions/", &["get"]),
        (
            "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/",
            &["get", "post"],
        ),
        (
            "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/",
            &["get", "put", "patch", "delete"],
        ),
    ] {
        for m in methods {
            assert!(doc["paths"][path].get(m).is_some(), "missing {m} {path}");
        }
    }
}

#[test]
fn malformed_metric_bodies_are_4xx_and_store_nothing() {
    let app = TestApp::spawn();
    app.new_type("company");
    let deep = (0..200).fold(json!(1), |v, _| json!([v]));
    let bodies = [
        json!([]),
        json!("x"),
        json!({"name": ["a"], "filters": {}}),
        json!({"name": "m", "filters": {"events": [{"id": "a\u{0}"}]}}),
        json!({"name": "m\u{0}", "filters": {}}),
        json!({"name": "m", "filters": {"properties": [{"key": "k", "value": deep}]}}),
        json!({"name": "m", "filters": {"properties": [{"key": "k", "value": "a".repeat(2000), "operator": "regex"}]}}),
        json!({"name": "m", "filters": {"properties": [{"key": "k", "value": "(a+)+$", "operator": "not_regex", "type": "group", "group_type_index": -1}]}}),
        json!({"name": "m", "filters": {}, "interval": 1e300}),
        json!({"name": "m", "filters": {}, "interval": -9_223_372_036_854_775_808i64}),
        json!({"name": "m", "filters": {}, "math": "sum", "math_property": {"a": 1}}),
        json!({"name": "m", "filters": {}, "format": 1}),
    ];
    for body in bodies {
        let got = create(&app, "0", &body);
        assert_client_error(&got);
    }
    let (status, _) = app.call_raw(
        "POST",
        &metrics_url(&app, "0", ""),
        "application/json",
        "{\"name\": ",
    );
    assert_eq!(status, 400);
    assert_eq!(app.get(&metrics_url(&app, "0", "")).1["count"], 0);
    let (_, body) = values(&app, 0, "acme\u{0}");
    assert!(body["type"].is_string(), "{body}");
}
