//! Malformed input never yields a 500 or a panic: every bad request answers a 4xx in the error
//! envelope, and the data stored before is intact afterwards.
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

/// The group every test starts with, and checks again at the end.
const PROPS: &str = r#"{"name": "Acme", "seats": 12, "tags": ["a", "b"], "nested": {"x": null}}"#;

fn seeded() -> TestApp {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", serde_json::from_str(PROPS).unwrap());
    app
}

/// The seeded group is still there, unchanged, the type list is intact, and the server never
/// logged a panic or a failed request.
#[track_caller]
fn assert_intact(app: &TestApp) {
    let (status, g) = app.find_group("group_type_index=0&group_key=acme");
    assert_eq!(status, 200, "{g}");
    assert_eq!(
        g["group_properties"],
        serde_json::from_str::<Value>(PROPS).unwrap()
    );
    let (status, types) = app.list_types();
    assert_eq!(status, 200);
    assert_eq!(types[0]["group_type"], "company");
    std::thread::sleep(Duration::from_millis(100));
    let lines = app.logs.lock().unwrap();
    for line in lines.iter() {
        assert!(!line.contains("panicked"), "the server panicked: {line}");
        assert!(
            !line.contains("request failed"),
            "a request failed with a 500: {line}"
        );
    }
}

/// Sends `body` with `content_type` and returns the answer.
fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> (u16, Value) {
    app.call_raw(method, &app.purl(path), content_type, body.into())
}

/// Percent-encodes every byte but ASCII alphanumerics.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn post_json(app: &TestApp, path: &str, body: &str) -> (u16, Value) {
    send(app, "POST", path, "application/json", body.as_bytes())
}

#[test]
fn malformed_json_bodies_are_400_on_every_body_route() {
    let app = seeded();
    let bodies = [
        "{",
        r#"{"group_type_index": 0, "group_key": "x""#,
        r#"{"group_type_index": 0,}"#,
        "nul",
        "{'group_key': 'single quotes'}",
        "\u{feff}{}",
        r#"{"a": 1} trailing"#,
        r#"{"group_key": "\ud800"}"#,
        r#"{"group_key": "\x"}"#,
    ];
    let routes = [
        ("POST", "/groups/"),
        (
            "POST",
            "/groups/update_property?group_type_index=0&group_key=acme",
        ),
        (
            "POST",
            "/groups/delete_property?group_type_index=0&group_key=acme",
        ),
        ("POST", "/groups_types/"),
        ("PATCH", "/groups_types/update_metadata"),
        ("PUT", "/groups_types/set_default_columns"),
    ];
    for (method, path) in routes {
        for body in bodies {
            let got = send(&app, method, path, "application/json", body.as_bytes());
            assert_eq!(got.0, 400, "{method} {path} {body:?}: {}", got.1);
            assert_client_error(&got);
            assert_eq!(got.1["type"], "validation_error", "{}", got.1);
        }
    }
    for body in bodies {
        let got = app.call_raw("POST", &app.url("/api/projects/"), "application/json", body);
        assert_eq!(got.0, 400, "{body:?}: {}", got.1);
        assert_client_error(&got);
    }
    assert_intact(&app);
}

#[test]
fn invalid_utf8_bodies_are_400() {
    let app = seeded();
    let bodies: [&[u8]; 4] = [
        b"{\"group_type_index\": 0, \"group_key\": \"\xff\xfe\"}",
        b"{\"group_type_index\": 0, \"group_key\": \"ok\", \"group_properties\": {\"\xc3\x28\": 1}}",
        b"\xef\xbb",
        b"{\"group_type_index\": 0, \"group_key\": \"\xed\xa0\x80\"}",
    ];
    for body in bodies {
        let got = send(&app, "POST", "/groups/", "application/json", body);
        assert_eq!(got.0, 400, "{body:?}: {}", got.1);
        assert_client_error(&got);
        let got = send(
            &app,
            "PATCH",
            "/groups_types/update_metadata",
            "application/json",
            body,
        );
        assert_eq!(got.0, 400, "{body:?}: {}", got.1);
        assert_client_error(&got);
    }
    let (_, list) = app.list_groups("group_type_index=0");
    assert_eq!(list["results"].as_array().unwrap().len(), 1, "{list}");
    assert_intact(&app);
}

#[test]
fn arrays_and_scalars_where_objects_are_expected_are_400() {
    let app = seeded();
    for body in ["[]", "[{}]", "\"acme\"", "42", "true", "null", "1.5"] {
        for path in [
            "/groups/",
            "/groups/update_property?group_type_index=0&group_key=acme",
            "/groups/delete_property?group_type_index=0&group_key=acme",
            "/groups_types/",
        ] {
            let got = post_json(&app, path, body);
            assert_eq!(got.0, 400, "{path} {body}: {}", got.1);
            assert_client_error(&got);
        }
        let got = send(
            &app,
            "PUT",
            "/groups_types/set_default_columns",
            "application/json",
            body,
        );
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_client_error(&got);
    }
    // The body of update_metadata must be an array of objects.
    for body in [
        "{}",
        r#"{"group_type_index": 0}"#,
        "[1]",
        "[null]",
        "[[]]",
        "\"x\"",
        "[{}]",
    ] {
        let got = send(
            &app,
            "PATCH",
            "/groups_types/update_metadata",
            "application/json",
            body,
        );
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_client_error(&got);
    }
    // Fields of the wrong JSON type.
    for body in [
        r#"{"group_type_index": 0, "group_key": "x", "group_properties": []}"#,
        r#"{"group_type_index": 0, "group_key": "x", "group_properties": "a=1"}"#,
        r#"{"group_type_index": 0, "group_key": "x", "group_properties": 3}"#,
    ] {
        let got = post_json(&app, "/groups/", body);
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_eq!(got.1["attr"], "group_properties", "{}", got.1);
    }
    for body in [
        r#"{"group_type_index": 0, "group_key": ["x"]}"#,
        r#"{"group_type_index": 0, "group_key": {"k": 1}}"#,
        r#"{"group_type_index": 0, "group_key": true}"#,
    ] {
        let got = post_json(&app, "/groups/", body);
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_eq!(got.1["attr"], "group_key", "{}", got.1);
    }
    for body in [
        r#"{"group_type_index": [0], "group_key": "x"}"#,
        r#"{"group_type_index": {"i": 0}, "group_key": "x"}"#,
        r#"{"group_type_index": true, "group_key": "x"}"#,
    ] {
        let got = post_json(&app, "/groups/", body);
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_eq!(got.1["attr"], "group_type_index", "{}", got.1);
    }
    for body in [
        r#"{"group_type": ["a"]}"#,
        r#"{"group_type": {"a": 1}}"#,
        r#"{"group_type": false}"#,
    ] {
        let got = post_json(&app, "/groups_types/", body);
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_eq!(got.1["attr"], "group_type", "{}", got.1);
    }
    for body in [
        r#"{"group_type_index": 0, "default_columns": "name"}"#,
        r#"{"group_type_index": 0, "default_columns": [1, 2]}"#,
        r#"{"group_type_index": 0, "default_columns": [null]}"#,
        r#"{"group_type_index": 0, "default_columns": {"a": "b"}}"#,
    ] {
        let got = send(
            &app,
            "PUT",
            "/groups_types/set_default_columns",
            "application/json",
            body,
        );
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_eq!(got.1["attr"], "default_columns", "{}", got.1);
    }
    for body in [
        r#"{"$unset": 1}"#,
        r#"{"$unset": ["name"]}"#,
        r#"{"$unset": null}"#,
    ] {
        let got = post_json(
            &app,
            "/groups/delete_property?group_type_index=0&group_key=acme",
            body,
        );
        assert_error(
            &got,
            400,
            "invalid_input",
            "This field is required and must be a string (the property name to delete).",
            Some("$unset"),
        );
    }
    let (_, types) = app.list_types();
    assert_eq!(types[0]["name_singular"], Value::Null);
    assert_eq!(types[0]["default_columns"], Value::Null);
    assert_intact(&app);
}

#[test]
fn huge_float_and_negative_group_type_indexes_in_bodies_are_400() {
    let app = seeded();
    let not_integer = [
        "99999999999999999999",
        "-99999999999999999999",
        "0.5",
        "1e400",
        "-1e400",
        "\"abc\"",
        "\"1.5\"",
        "\"\"",
    ];
    for n in not_integer {
        let body = format!(r#"{{"group_type_index": {n}, "group_key": "huge"}}"#);
        let got = post_json(&app, "/groups/", &body);
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_client_error(&got);
        let body = format!(r#"[{{"group_type_index": {n}, "name_singular": "x"}}]"#);
        let got = send(
            &app,
            "PATCH",
            "/groups_types/update_metadata",
            "application/json",
            body,
        );
        assert_eq!(got.0, 400, "{n}: {}", got.1);
        assert_client_error(&got);
        let body = format!(r#"{{"group_type_index": {n}, "default_columns": ["x"]}}"#);
        let got = send(
            &app,
            "PUT",
            "/groups_types/set_default_columns",
            "application/json",
            body,
        );
        assert_eq!(got.0, 400, "{n}: {}", got.1);
        assert_client_error(&got);
    }
    // In range of the JSON parser, these name the field.
    for n in ["99999999999999999999", "0.5", "\"abc\""] {
        let body = format!(r#"{{"group_type_index": {n}, "group_key": "huge"}}"#);
        assert_error(
            &post_json(&app, "/groups/", &body),
            400,
            "invalid_input",
            "A valid integer is required.",
            Some("group_type_index"),
        );
    }
    // Integers with no type.
    for n in [
        "-1",
        "5",
        "64",
        "9223372036854775807",
        "-9223372036854775808",
    ] {
        let body = format!(r#"{{"group_type_index": {n}, "group_key": "ghost"}}"#);
        assert_error(
            &post_json(&app, "/groups/", &body),
            400,
            "invalid_input",
            &format!("Group type {n} does not exist in this project."),
            Some("group_type_index"),
        );
        let body = format!(r#"{{"group_type_index": {n}, "default_columns": ["x"]}}"#);
        let got = send(
            &app,
            "PUT",
            "/groups_types/set_default_columns",
            "application/json",
            body,
        );
        assert_error(&got, 404, "not_found", "Group type not found", None);
        let body = format!(r#"[{{"group_type_index": {n}, "name_singular": "x"}}]"#);
        let got = send(
            &app,
            "PATCH",
            "/groups_types/update_metadata",
            "application/json",
            body,
        );
        assert_eq!(got.0, 400, "{n}: {}", got.1);
        assert_eq!(got.1["attr"], "group_type_index", "{}", got.1);
    }
    let (_, list) = app.list_groups("group_type_index=0");
    assert_eq!(list["results"].as_array().unwrap().len(), 1, "{list}");
    assert_intact(&app);
}

#[test]
fn numbers_beyond_f64_in_properties_are_400() {
    let app = seeded();
    for props in [
        r#"{"big": 1e400}"#,
        r#"{"big": -1e400}"#,
        r#"{"deep": {"big": [1e999]}}"#,
    ] {
        let body = format!(
            r#"{{"group_type_index": 0, "group_key": "num", "group_properties": {props}}}"#
        );
        let got = post_json(&app, "/groups/", &body);
        assert_eq!(got.0, 400, "{props}: {}", got.1);
        assert_client_error(&got);
        let got = post_json(
            &app,
            "/groups/update_property?group_type_index=0&group_key=acme",
            &format!(r#"{{"key": "big", "value": {props}}}"#),
        );
        assert_eq!(got.0, 400, "{props}: {}", got.1);
    }
    let got = app.find_group("group_type_index=0&group_key=num");
    assert_eq!(got.0, 404);
    assert_intact(&app);
}

#[test]
fn large_but_representable_numbers_in_properties_round_trip() {
    let app = seeded();
    let props =
        json!({"u64": u64::MAX, "i64": i64::MIN, "f": 1.5e300, "tiny": 5e-324, "neg": -0.25});
    app.new_group(0, "numbers", props.clone());
    let (status, g) = app.find_group("group_type_index=0&group_key=numbers");
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["group_properties"], props);
    assert_intact(&app);
}

#[test]
fn huge_float_and_negative_numbers_in_query_parameters_and_paths_are_4xx() {
    let app = seeded();
    for n in [
        "99999999999999999999",
        "1e400",
        "1.5",
        "0.0",
        "1e2",
        "abc",
        "0x1",
        "%20",
        "NaN",
        "--1",
    ] {
        for path in [
            format!("/groups/find?group_type_index={n}&group_key=acme"),
            format!("/groups/activity?group_type_index={n}&group_key=acme"),
            format!("/groups/?group_type_index={n}"),
            format!("/groups/property_values?group_type_index={n}&key=name"),
        ] {
            let got = app.get(&app.purl(&path));
            assert_eq!(got.0, 400, "{path}: {}", got.1);
            assert_eq!(got.1["attr"], "group_type_index", "{path}: {}", got.1);
        }
        let got = app.delete_type(n);
        assert_eq!(got.0, 400, "DELETE {n}: {}", got.1);
        assert_client_error(&got);
    }
    for n in ["-1", "9223372036854775807", "-9223372036854775808"] {
        let got = app.find_group(&format!("group_type_index={n}&group_key=acme"));
        assert_not_found(&got);
        let got = app.list_groups(&format!("group_type_index={n}"));
        assert_eq!(got.0, 200, "{n}: {}", got.1);
        assert_eq!(got.1["results"], json!([]));
        let got = app.delete_type(n);
        assert_error(&got, 404, "not_found", "Group type not found", None);
    }
    for (param, value) in [
        ("page", "99999999999999999999"),
        ("page", "-1"),
        ("page", "0"),
        ("page", "1.5"),
        ("limit", "99999999999999999999"),
        ("limit", "0"),
        ("limit", "x"),
    ] {
        let path = format!("/groups/activity?group_type_index=0&group_key=acme&{param}={value}");
        let got = app.get(&app.purl(&path));
        assert_eq!(got.0, 400, "{path}: {}", got.1);
        assert_eq!(got.1["attr"], param, "{}", got.1);
    }
    for value in ["0", "1001", "-5", "99999999999999999999", "1.0"] {
        let got = app.list_groups(&format!("group_type_index=0&limit={value}"));
        assert_eq!(got.0, 400, "limit={value}: {}", got.1);
        assert_eq!(got.1["attr"], "limit", "{}", got.1);
    }
    assert_intact(&app);
}

#[test]
fn a_page_far_past_the_end_of_the_activity_is_empty() {
    let app = seeded();
    for page in ["2", "1000000", "9223372036854775807"] {
        let path =
            format!("/groups/activity?group_type_index=0&group_key=acme&page={page}&limit=1000");
        let (status, body) = app.get(&app.purl(&path));
        assert_eq!(status, 200, "page {page}: {body}");
        assert_eq!(body["results"], json!([]), "page {page}");
        assert_eq!(body["total_count"], 4);
    }
    assert_intact(&app);
}

#[test]
fn nul_characters_are_refused_wherever_text_is_stored() {
    let app = seeded();
    for (body, attr) in [
        (
            r#"{"group_type_index": 0, "group_key": "a\u0000b"}"#,
            "group_key",
        ),
        (
            r#"{"group_type_index": 0, "group_key": "\u0000"}"#,
            "group_key",
        ),
        (
            r#"{"group_type_index": 0, "group_key": "n1", "group_properties": {"a\u0000": 1}}"#,
            "group_properties",
        ),
        (
            r#"{"group_type_index": 0, "group_key": "n2", "group_properties": {"a": "x\u0000"}}"#,
            "group_properties",
        ),
        (
            r#"{"group_type_index": 0, "group_key": "n3", "group_properties": {"a": {"b": ["\u0000"]}}}"#,
            "group_properties",
        ),
        (
            r#"{"group_type_index": 0, "group_key": "n4", "group_properties": {"a": {"\u0000": 1}}}"#,
            "group_properties",
        ),
    ] {
        let got = post_json(&app, "/groups/", body);
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_eq!(got.1["attr"], attr, "{body}: {}", got.1);
    }
    for body in [
        r#"{"key": "a\u0000", "value": 1}"#,
        r#"{"key": "a", "value": "\u0000"}"#,
        r#"{"key": "a", "value": {"\u0000": 1}}"#,
    ] {
        let got = post_json(
            &app,
            "/groups/update_property?group_type_index=0&group_key=acme",
            body,
        );
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_client_error(&got);
    }
    let got = post_json(
        &app,
        "/groups/delete_property?group_type_index=0&group_key=acme",
        r#"{"$unset": "name\u0000"}"#,
    );
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "$unset");
    let got = post_json(&app, "/groups_types/", r#"{"group_type": "team\u0000"}"#);
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "group_type");
    let got = send(
        &app,
        "PATCH",
        "/groups_types/update_metadata",
        "application/json",
        r#"[{"group_type_index": 0, "name_singular": "x\u0000"}]"#,
    );
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "name_singular");
    let got = send(
        &app,
        "PUT",
        "/groups_types/set_default_columns",
        "application/json",
        r#"{"group_type_index": 0, "default_columns": ["\u0000"]}"#,
    );
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "default_columns");
    let got = app.call_raw(
        "POST",
        &app.url("/api/projects/"),
        "application/json",
        r#"{"name": "p\u0000"}"#,
    );
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "name");
    // In query parameters a NUL simply matches nothing.
    for path in [
        "/groups/find?group_type_index=0&group_key=ac%00me",
        "/groups/find?group_type_index=0&group_key=%00",
        "/groups/activity?group_type_index=0&group_key=%00",
    ] {
        let got = app.get(&app.purl(path));
        assert_not_found(&got);
    }
    for path in [
        "/groups/?group_type_index=0&search=%00",
        "/groups/?group_type_index=0&search=ac%00me",
        "/groups/?group_type_index=0&search=acme%00",
        "/groups/?group_type_index=0&group_key=%00",
        "/groups/property_values?group_type_index=0&key=%00",
        "/groups/property_values?group_type_index=0&key=name&value=%00",
    ] {
        let got = app.get(&app.purl(path));
        assert_eq!(got.0, 200, "{path}: {}", got.1);
        assert_eq!(got.1["results"], json!([]), "{path}");
    }
    let got = app.find_group("group_type_index=0%00&group_key=acme");
    assert_eq!(got.0, 400, "{}", got.1);
    let (_, list) = app.list_groups("group_type_index=0");
    assert_eq!(list["results"].as_array().unwrap().len(), 1, "{list}");
    let (_, types) = app.list_types();
    assert_eq!(types.as_array().unwrap().len(), 1);
    assert_eq!(types[0]["name_singular"], Value::Null);
    assert_intact(&app);
}

#[test]
fn sql_looking_strings_are_stored_and_found_back_verbatim() {
    let app = seeded();
    let evil = "'; DROP TABLE groups; --";
    let props = json!({
        "name": "Robert'); DROP TABLE group_types;--",
        "x\" OR 1=1 --": "1' OR '1'='1",
        "%_\\": "%_\\",
        "$.a": "json_extract('{}', '$')",
    });
    let created = app.new_group(0, evil, props.clone());
    assert_eq!(created["group_key"], evil);
    let url = format!("/groups/find?group_type_index=0&group_key={}", encode(evil));
    let (status, found) = app.get(&app.purl(&url));
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["group_key"], evil);
    assert_eq!(found["group_properties"], props);
    // It can be searched for, and the search does not match everything.
    let (status, list) = app.get(&app.purl(&format!(
        "/groups/?group_type_index=0&search={}",
        encode("DROP TABLE group_types")
    )));
    assert_eq!(status, 200, "{list}");
    let keys: Vec<&Value> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["group_key"])
        .collect();
    assert_eq!(keys, [evil]);
    let (_, list) = app.get(&app.purl(&format!(
        "/groups/?group_type_index=0&search={}",
        encode("' OR '1'='1' --")
    )));
    assert_eq!(list["results"], json!([]), "an injected condition matched");
    // Group type names and display names too.
    let (status, t) = app.create_type(&json!({"group_type": "x'); DELETE FROM group_types; --"}));
    assert_eq!(status, 201, "{t}");
    let (status, types) = app.patch_types(
        &json!([{"group_type_index": 1, "name_singular": "'; --", "name_plural": "\"; --"}]),
    );
    assert_eq!(status, 200, "{types}");
    assert_eq!(types[1]["group_type"], "x'); DELETE FROM group_types; --");
    assert_eq!(types[1]["name_singular"], "'; --");
    assert_eq!(types[1]["name_plural"], "\"; --");
    // A property set through update_property with an injected name.
    let (status, g) = app.update_property(
        "group_type_index=0&group_key=acme",
        &json!({"key": "k'); DROP TABLE groups; --", "value": "v"}),
    );
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["group_properties"]["k'); DROP TABLE groups; --"], "v");
    let (status, g) = app.delete_property(
        "group_type_index=0&group_key=acme",
        &json!({"$unset": "k'); DROP TABLE groups; --"}),
    );
    assert_eq!(status, 200, "{g}");
    assert_intact(&app);
}

#[test]
fn very_long_strings_are_refused_or_stored_whole() {
    let app = seeded();
    // Limits count characters, not bytes.
    let key400 = "ü".repeat(400);
    let created = app.new_group(0, &key400, json!({}));
    assert_eq!(created["group_key"], key400.as_str());
    let got = app.create_group(&json!({"group_type_index": 0, "group_key": "ü".repeat(401)}));
    assert_error(
        &got,
        400,
        "max_length",
        "Ensure this field has no more than 400 characters.",
        Some("group_key"),
    );
    let got = app.create_type(&json!({"group_type": "t".repeat(401)}));
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "group_type");
    // A long property value and a long property name are kept exactly.
    let long_value = "v".repeat(1_000_000);
    let long_name = "n".repeat(10_000);
    let props = json!({ long_name.clone(): long_value.clone(), "short": 1 });
    app.new_group(0, "long", props.clone());
    let (status, g) = app.find_group("group_type_index=0&group_key=long");
    assert_eq!(status, 200);
    assert_eq!(g["group_properties"], props);
    // Long query parameters are harmless.
    let long_q = "q".repeat(20_000);
    for path in [
        format!("/groups/?group_type_index=0&search={long_q}"),
        format!("/groups/?group_type_index=0&group_key={long_q}"),
        format!("/groups/property_values?group_type_index=0&key={long_q}&value={long_q}"),
    ] {
        let got = app.get(&app.purl(&path));
        assert_eq!(got.0, 200, "{}", got.1);
        assert_eq!(got.1["results"], json!([]));
    }
    let got = app.find_group(&format!("group_type_index=0&group_key={long_q}"));
    assert_not_found(&got);
    // Deep nesting within the parser's limit is stored; beyond it is a 400, never a crash.
    let mut nested = json!("leaf");
    for _ in 0..100 {
        nested = json!({ "d": nested });
    }
    app.new_group(0, "deep", json!({ "deep": nested.clone() }));
    let (_, g) = app.find_group("group_type_index=0&group_key=deep");
    assert_eq!(g["group_properties"]["deep"], nested);
    let too_deep = format!(
        r#"{{"group_type_index": 0, "group_key": "too-deep", "group_properties": {{"a": {}1{}}}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let got = post_json(&app, "/groups/", &too_deep);
    assert_eq!(got.0, 400, "{}", got.1);
    assert_client_error(&got);
    assert_intact(&app);
}

#[test]
fn unknown_fields_are_ignored() {
    let app = seeded();
    let (status, g) = app.create_group(&json!({"group_type_index": 0, "group_key": "extra", "group_properties": {"a": 1},
                    "id": 99, "created_at": "2000-01-01T00:00:00Z", "notebook": "x", "bogus": [1, 2]}));
    assert_eq!(status, 201, "{g}");
    let mut keys: Vec<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "group_key",
            "group_properties",
            "group_type_index"
        ]
    );
    assert_ne!(g["created_at"], "2000-01-01T00:00:00Z");
    assert_eq!(g["group_properties"], json!({"a": 1}));
    let (status, t) =
        app.create_type(&json!({"group_type": "team", "group_type_index": 4, "bogus": true}));
    assert_eq!(status, 201, "{t}");
    assert_eq!(
        t["group_type_index"], 1,
        "the index is assigned, not taken from the body"
    );
    let (status, p) = app.create_project(&json!({"name": "P", "id": 77, "api_token": "phc_mine"}));
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["id"], 2);
    assert_ne!(p["api_token"], "phc_mine");
    let (status, g) = app.update_property(
        "group_type_index=0&group_key=extra",
        &json!({"key": "b", "value": 2, "other": 3}),
    );
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["group_properties"], json!({"a": 1, "b": 2}));
    assert_intact(&app);
}

#[test]
fn unsupported_content_types_are_415() {
    let app = seeded();
    let body = r#"{"group_type_index": 0, "group_key": "typed"}"#;
    for ct in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "image/png",
    ] {
        for (method, path) in [
            ("POST", "/groups/"),
            ("POST", "/groups_types/"),
            ("PATCH", "/groups_types/update_metadata"),
            ("PUT", "/groups_types/set_default_columns"),
        ] {
            let got = send(&app, method, path, ct, body.as_bytes());
            assert_eq!(got.0, 415, "{ct} {method} {path}: {}", got.1);
            assert_eq!(got.1["code"], "unsupported_media_type", "{}", got.1);
            assert_eq!(got.1["type"], "invalid_request", "{}", got.1);
            assert_client_error(&got);
        }
    }
    let got = app.find_group("group_type_index=0&group_key=typed");
    assert_eq!(got.0, 404, "a 415 request stored a group");
    // JSON with a charset, and a flat form, are fine.
    let got = send(
        &app,
        "POST",
        "/groups/",
        "application/json; charset=utf-8",
        body.as_bytes(),
    );
    assert_eq!(got.0, 201, "{}", got.1);
    let got = send(
        &app,
        "POST",
        "/groups/",
        "application/x-www-form-urlencoded",
        "group_type_index=0&group_key=form%20key".as_bytes(),
    );
    assert_eq!(got.0, 201, "{}", got.1);
    assert_eq!(got.1["group_key"], "form key");
    assert_eq!(got.1["group_properties"], json!({}));
    assert_intact(&app);
}

#[test]
fn bodies_over_the_limit_are_413_naming_it() {
    let app = TestApp::spawn_with(&["--max-rest-body-bytes", "4096"]);
    app.new_type("company");
    app.new_group(0, "acme", serde_json::from_str(PROPS).unwrap());
    let big = json!({"group_type_index": 0, "group_key": "big", "group_properties": {"p": "x".repeat(8192)}});
    let got = app.create_group(&big);
    assert_eq!(got.0, 413, "{}", got.1);
    assert_eq!(got.1["code"], "payload_too_large", "{}", got.1);
    assert_eq!(got.1["type"], "invalid_request", "{}", got.1);
    assert!(
        got.1["detail"].as_str().unwrap().contains("4096"),
        "the detail should say the limit: {}",
        got.1
    );
    assert_client_error(&got);
    let got = app.patch_types(&json!([{"group_type_index": 0, "name_singular": "s".repeat(5000)}]));
    assert_eq!(got.0, 413, "{}", got.1);
    let got = app.find_group("group_type_index=0&group_key=big");
    assert_eq!(got.0, 404);
    // Under the limit is fine.
    let small = json!({"group_type_index": 0, "group_key": "small", "group_properties": {"p": "x".repeat(1000)}});
    assert_eq!(app.create_group(&small).0, 201);
    assert_intact(&app);
}

#[test]
fn bodies_over_the_default_ten_mebibyte_limit_are_413() {
    let app = seeded();
    let big = json!({"group_type_index": 0, "group_key": "big", "group_properties": {"p": "x".repeat(11 * 1024 * 1024)}});
    let got = app.create_group(&big);
    assert_eq!(got.0, 413, "{}", got.1);
    assert_eq!(got.1["code"], "payload_too_large");
    assert_intact(&app);
}

#[test]
fn query_strings_with_invalid_percent_encoding_are_4xx_or_harmless() {
    let app = seeded();
    for path in [
        "/groups/find?group_type_index=%ZZ&group_key=acme",
        "/groups/find?group_type_index=%&group_key=acme",
        "/groups/find?group_type_index=%0&group_key=acme",
        "/groups/find?group_type_index=%FF&group_key=acme",
        "/groups/?group_type_index=%E0%A4%A",
        "/groups/activity?group_type_index=%C0%80&group_key=acme",
    ] {
        let got = app.get(&app.purl(path));
        assert_not_an_integer(&got, "group_type_index");
    }
    for path in [
        "/groups/find?group_type_index=0&group_key=%ZZ",
        "/groups/find?group_type_index=0&group_key=%",
        "/groups/find?group_type_index=0&group_key=%FF%FE",
        "/groups/find?group_type_index=0&group_key=ac%E0%A4%Ame",
        "/groups/activity?group_type_index=0&group_key=%C3%28",
    ] {
        let got = app.get(&app.purl(path));
        assert_not_found(&got);
    }
    for path in [
        "/groups/?group_type_index=0&search=%FF%ZZ%",
        "/groups/?group_type_index=0&group_key=%C3%28&cursor=%FF",
        "/groups/property_values?group_type_index=0&key=%ZZ&value=%",
    ] {
        let got = app.get(&app.purl(path));
        assert_eq!(got.0, 200, "{path}: {}", got.1);
    }
    // A key with broken encoding in the query is an unknown key, not a crash.
    let got = app
        .anonymous()
        .get(&app.purl("/groups_types/?personal_api_key=%FF%ZZ"));
    assert_authentication_failed(&got, "query string");
    assert_intact(&app);
}

#[test]
fn invalid_utf8_in_the_project_segment_is_404() {
    let app = seeded();
    for path in [
        "/api/projects/%FF/",
        "/api/projects/%FF/groups_types/",
        "/api/projects/%C3%28/groups/?group_type_index=0",
        "/api/environments/%FF/groups_types/",
    ] {
        let got = app.get(&app.url(path));
        assert_error(&got, 404, "not_found", "Project not found.", None);
    }
    assert_intact(&app);
}

#[test]
fn invalid_utf8_in_the_group_type_index_segment_is_400() {
    let app = seeded();
    for index in ["%FF", "%C3%28", "0%FF"] {
        let got = app.delete_type(index);
        assert_not_an_integer(&got, "group_type_index");
    }
    let got = app.call("DELETE", &app.url("/api/projects/%FF/groups_types/0"));
    assert_error(&got, 404, "not_found", "Project not found.", None);
    assert_intact(&app);
}

#[test]
fn odd_headers_are_handled() {
    let app = seeded();
    let url = app.purl("/groups_types/");
    let raw = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    let got = read(
        app.client
            .get(&url)
            .header("authorization", raw)
            .send()
            .unwrap(),
    );
    assert_eq!(got.0, 401, "{}", got.1);
    assert_client_error(&got);
    let got = read(
        app.client
            .get(&url)
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .unwrap(),
    );
    assert_eq!(got.0, 401, "{}", got.1);
    let raw = reqwest::header::HeaderValue::from_bytes(b"application/\xffjson").unwrap();
    let got = read(
        app.client
            .post(app.purl("/groups/"))
            .bearer_auth(&app.key)
            .header("content-type", raw)
            .body(r#"{"group_type_index": 0, "group_key": "hdr"}"#)
            .send()
            .unwrap(),
    );
    assert!(got.0 < 500, "{}", got.1);
    assert_intact(&app);
}

#[test]
fn a_database_fault_is_a_generic_500_logged_as_one_line_even_with_rust_backtrace() {
    let app = TestApp::spawn_process(&[], &[("RUST_BACKTRACE", "1")]);
    app.new_type("company");
    // Break the database behind the server's back.
    app.db.execute(match backend() {
        Backend::Sqlite => "DROP TABLE group_types",
        Backend::Postgres => "DROP TABLE group_types CASCADE",
    });
    let got = app.list_types();
    assert_eq!(
        got,
        (
            500,
            json!({"type": "server_error", "code": "error", "detail": "A server error occurred.", "attr": null})
        )
    );
    std::thread::sleep(Duration::from_millis(300));
    let lines = app.logs.lock().unwrap();
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("request failed"))
        .collect();
    assert_eq!(failed.len(), 1, "{lines:#?}");
    // The cause chain, down to the database's own words, on that one line.
    assert!(failed[0].contains("group_types"), "{}", failed[0]);
    assert!(
        !lines.iter().any(|l| l.to_lowercase().contains("backtrace")),
        "a backtrace was logged: {lines:#?}"
    );
}

/// Text and times no backend stores faithfully are refused with the batch, identically on both:
/// a lone surrogate (in `$group_set` it used to drop the whole `$group_set` on SQLite and 500 on
/// PostgreSQL), a NUL, a time outside 0001–9999 (`offset: 1e20` stored a null timestamp).
#[test]
fn capture_refuses_text_and_times_no_backend_stores() {
    let app = TestApp::spawn();
    let token = app.token();
    let cases = [
        (
            format!(
                r#"{{"api_key": "{token}", "event": "$groupidentify", "distinct_id": "u", "properties": {{"$group_type": "company", "$group_key": "acme", "$group_set": {{"name": "\udc00"}}}}}}"#
            ),
            "Event 0 of the batch has a lone UTF-16 surrogate in properties.",
        ),
        (
            format!(r#"{{"api_key": "{token}", "event": "e\u0000", "distinct_id": "u"}}"#),
            "Event 0 of the batch has a NUL character in event.",
        ),
        (
            format!(
                r#"{{"api_key": "{token}", "event": "e", "distinct_id": "u", "offset": 1e20}}"#
            ),
            "Event 0 of the batch has a time outside the years 0001–9999.",
        ),
        (
            format!(
                r#"{{"api_key": "{token}", "sent_at": "9999-12-31T23:59:59Z", "batch": [{{"event": "e", "distinct_id": "u", "timestamp": "0001-01-01T00:00:00Z"}}]}}"#
            ),
            "Event 0 of the batch has a time outside the years 0001–9999.",
        ),
    ];
    for (body, detail) in cases {
        let got = app.capture_raw("/batch/", "application/json", body.clone());
        assert_eq!(got.0, 400, "{body}: {}", got.1);
        assert_eq!(got.1["code"], "invalid_payload", "{body}");
        assert_eq!(got.1["detail"], detail, "{body}");
    }
    assert!(app.db.stored_events(None).is_empty(), "nothing was stored");
    assert_not_found(&app.find_group("group_type_index=0&group_key=acme"));
}

/// A REST body of many tiny values (`0,` is two bytes, a parsed value tens) is refused before it
/// is parsed, so memory stays a small multiple of the body's size.
#[test]
fn a_rest_body_of_too_many_values_is_413_before_parsing() {
    let app = TestApp::spawn();
    app.new_type("company");
    let zeros = vec!["0"; 2_000_000].join(",");
    let body = format!(
        r#"{{"group_type_index": 0, "group_key": "big", "group_properties": {{"z": [{zeros}]}}}}"#
    );
    let got = app.call_raw("POST", &app.purl("/groups/"), "application/json", body);
    assert_error(
        &got,
        413,
        "payload_too_large",
        "The JSON body holds more than 100000 values.",
        None,
    );
    assert_not_found(&app.find(0, "big"));
    let fine = format!(
        r#"{{"group_type_index": 0, "group_key": "ok", "group_properties": {{"z": [{}]}}}}"#,
        vec!["0"; 1000].join(",")
    );
    assert_eq!(
        app.call_raw("POST", &app.purl("/groups/"), "application/json", fine)
            .0,
        201
    );
}
