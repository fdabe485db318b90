//! The query endpoint: data loaded through capture, exact results back.
use serde_json::{Value, json};

use crate::helpers::*;

fn q(app: &TestApp, project: i64, text: &str) -> (u16, Value) {
    app.in_project(project).query(text)
}

fn rows(app: &TestApp, text: &str) -> Value {
    let (status, body) = q(app, 1, text);
    assert_eq!(status, 200, "{text}: {body}");
    body["results"].clone()
}

/// Three companies with seat counts, and events across two days.
fn loaded() -> TestApp {
    let app = TestApp::spawn();
    let t = app.token();
    let mut batch = vec![];
    for (key, name, seats) in [
        ("acme", "Acme", 12),
        ("globex", "Globex", 3),
        ("initech", "Initech", 40),
    ] {
        batch.push(json!({"event": "$groupidentify", "distinct_id": "admin", "timestamp": "2026-05-01T00:00:00Z",
            "properties": {"$group_type": "company", "$group_key": key, "$group_set": {"name": name, "seats": seats}}}));
    }
    let visits = [
        ("acme", "2026-05-01T10:00:00Z"),
        ("acme", "2026-05-01T11:00:00Z"),
        ("acme", "2026-05-02T09:00:00Z"),
        ("globex", "2026-05-02T10:00:00Z"),
        ("initech", "2026-05-03T10:00:00Z"),
    ];
    for (i, (key, ts)) in visits.iter().enumerate() {
        batch.push(
            json!({"event": "$pageview", "distinct_id": format!("u{i}"), "timestamp": ts,
            "properties": {"$groups": {"company": key}, "amount": i}}),
        );
    }
    assert_eq!(
        app.capture("/batch/", &json!({"api_key": t, "batch": batch}))
            .0,
        200
    );
    app
}

#[test]
fn the_spec_example_answers_exactly() {
    let app = loaded();
    let (status, body) = q(
        &app,
        1,
        "SELECT key, properties.name FROM groups WHERE index = 0 ORDER BY key LIMIT 10",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["columns"], json!(["key", "name"]));
    assert_eq!(
        body["types"],
        json!([["key", "String"], ["name", "String"]])
    );
    assert_eq!(
        body["results"],
        json!([
            ["acme", "Acme"],
            ["globex", "Globex"],
            ["initech", "Initech"]
        ])
    );
    assert_eq!(
        body["hogql"],
        "SELECT key, properties.name AS name FROM groups WHERE equals(index, 0) ORDER BY key ASC LIMIT 10"
    );
    assert_eq!(
        (
            body["hasMore"].clone(),
            body["limit"].clone(),
            body["offset"].clone()
        ),
        (json!(false), json!(10), json!(0))
    );
}

#[test]
fn group_level_counts_join_through_group_n() {
    let app = loaded();
    let got = rows(
        &app,
        "SELECT group_0.properties.name, count() FROM events WHERE event = '$pageview' GROUP BY 1 ORDER BY 2 DESC, 1",
    );
    assert_eq!(got, json!([["Acme", 3], ["Globex", 1], ["Initech", 1]]));
}

#[test]
fn numeric_property_comparisons_compare_numbers() {
    let app = loaded();
    // As text '3' > '12'; as numbers 3 < 12.
    let got = rows(
        &app,
        "SELECT key FROM groups WHERE properties.seats > 10 ORDER BY key",
    );
    assert_eq!(got, json!([["acme"], ["initech"]]));
}

#[test]
fn time_windows_having_and_subqueries() {
    let app = loaded();
    let got = rows(
        &app,
        "SELECT count() FROM events WHERE event = '$pageview' AND timestamp >= '2026-05-02 00:00:00' AND timestamp < toDateTime('2026-05-03T00:00:00Z')",
    );
    assert_eq!(got, json!([[2]]));
    let got = rows(
        &app,
        "SELECT $group_0 AS k, count() AS c FROM events WHERE event = '$pageview' GROUP BY k HAVING c > 1",
    );
    assert_eq!(got, json!([["acme", 3]]));
    let got = rows(
        &app,
        "SELECT key FROM groups WHERE key IN (SELECT $group_0 FROM events WHERE timestamp > '2026-05-02 12:00:00') ORDER BY key",
    );
    assert_eq!(got, json!([["initech"]]));
}

#[test]
fn limit_and_has_more() {
    let app = loaded();
    let (_, body) = q(
        &app,
        1,
        "SELECT event FROM events ORDER BY timestamp LIMIT 2",
    );
    assert_eq!(
        (
            body["results"].as_array().unwrap().len(),
            body["hasMore"].clone()
        ),
        (2, json!(true))
    );
    let (_, body) = q(&app, 1, "SELECT event FROM events");
    assert_eq!(
        (body["limit"].clone(), body["hasMore"].clone()),
        (json!(100), json!(false))
    );
    let (_, body) = q(&app, 1, "SELECT event FROM events LIMIT 1000000");
    assert_eq!(body["limit"], 50000);
}

#[test]
fn no_query_sees_another_project() {
    let app = loaded();
    let other = app.new_project("other");
    let other_id = other["id"].as_i64().unwrap();
    for text in [
        "SELECT count() FROM events",
        "SELECT count() FROM groups",
        "SELECT count() FROM (SELECT * FROM events)",
        "WITH e AS (SELECT uuid FROM events) SELECT count() FROM e",
        "SELECT count() FROM events e JOIN groups g ON g.key = e.$group_0",
        "SELECT count() FROM groups WHERE key IN (SELECT $group_0 FROM events)",
    ] {
        let (status, body) = q(&app, other_id, text);
        assert_eq!(status, 200, "{text}: {body}");
        assert_eq!(body["results"], json!([[0]]), "{text}");
    }
}

#[test]
fn injection_attempts_are_values_or_400s_never_sql() {
    let app = loaded();
    let got = rows(
        &app,
        "SELECT count() FROM groups WHERE key = 'acme'' OR 1=1 --'",
    );
    assert_eq!(got, json!([[0]]));
    for text in [
        "SELECT 1; DROP TABLE events",
        "DROP TABLE events",
        "INSERT INTO events VALUES (1)",
        "SELECT * FROM sqlite_master",
        "SELECT load_extension('x')",
        "ATTACH DATABASE 'x' AS y",
    ] {
        let (status, body) = q(&app, 1, text);
        assert_eq!(status, 400, "{text}: {body}");
        assert_eq!(body["type"], "validation_error");
    }
    assert_eq!(rows(&app, "SELECT count() FROM events"), json!([[8]]));
}

#[test]
fn errors_point_at_the_problem() {
    let app = loaded();
    let cases = [
        ("SELECT count() FROM persons", "Unknown table 'persons'."),
        ("SELECT foo(1) FROM events", "Unknown function 'foo'."),
    ];
    for (text, detail) in cases {
        let (status, body) = q(&app, 1, text);
        assert_eq!(
            (status, body["detail"].clone()),
            (400, json!(detail)),
            "{text}"
        );
    }
    let (status, body) = q(&app, 1, "SELEC key FROM groups");
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().starts_with("Syntax error"),
        "{body}"
    );
    let got = app.call_json(
        "POST",
        &app.purl("/query/"),
        &json!({"query": {"kind": "EventsQuery"}}),
    );
    assert_error(
        &got,
        400,
        "invalid_input",
        "Unsupported query kind: EventsQuery",
        Some("kind"),
    );
}

#[test]
fn the_query_scope_is_required() {
    let app = loaded();
    let reader = app.as_key(&app.new_key("reader", "group:read", &[]));
    assert_missing_scope(&reader.query("SELECT 1"), "query:read");
}

#[test]
fn a_query_past_its_time_limit_is_cancelled_with_a_400() {
    let app = TestApp::spawn_with(&["--query-timeout-secs", "1"]);
    let batch: Vec<Value> = (0..300)
        .map(|i| json!({"event": "e", "distinct_id": format!("u{i}"), "properties": {"n": i}}))
        .collect();
    let body = json!({"api_key": app.token(), "batch": batch});
    assert_eq!(app.capture("/batch/", &body).0, 200);
    // 300^4 rows, each with a string built and compared: far more than a second of work
    // (a bare count of the cross join is answered from the row counts at once).
    let started = std::time::Instant::now();
    let (status, body) = q(
        &app,
        1,
        "SELECT count() FROM events a JOIN events b ON 1 = 1 JOIN events c ON 1 = 1 JOIN events d ON 1 = 1 \
         WHERE concat(a.uuid, b.uuid, c.uuid, d.uuid) != ''",
    );
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("query_timeout")),
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "cancelled promptly"
    );
    // The database work stopped: the next query answers at once.
    assert_eq!(rows(&app, "SELECT count() FROM events"), json!([[300]]));
}

#[test]
fn a_reused_type_index_does_not_inherit_older_events() {
    let app = TestApp::spawn();
    let t = app.token();
    let ev = |key: &str, name: &str| {
        json!({"event": "$pageview", "distinct_id": "u", "timestamp": "2026-05-01T10:00:00Z",
            "properties": {"$groups": {name: key}}})
    };
    let body = json!({"api_key": t, "batch": [ev("acme", "company"), ev("globex", "company")]});
    assert_eq!(app.capture("/batch/", &body).0, 200);
    assert_eq!(app.delete_type("0").0, 204);
    // A minute later the index is taken by another type, and one of its events arrives; its
    // client timestamp is as old as the others', but it was received after the type existed.
    app.clock().set(T0_US + 60_000_000);
    assert_eq!(app.new_type("workspace"), 0);
    app.new_group(0, "w1", json!({"name": "W1"}));
    let body = json!({"api_key": t, "batch": [ev("w1", "workspace")]});
    assert_eq!(app.capture("/batch/", &body).0, 200);
    assert_eq!(
        rows(
            &app,
            "SELECT $group_0, count() FROM events WHERE event = '$pageview' GROUP BY 1 ORDER BY 1"
        ),
        json!([["", 2], ["w1", 1]])
    );
    assert_eq!(
        rows(
            &app,
            "SELECT workspace.properties.name, count() FROM events WHERE event = '$pageview' GROUP BY 1 ORDER BY 1"
        ),
        json!([["W1", 1], [null, 2]])
    );
}

#[test]
fn a_query_past_the_memory_limit_is_a_400() {
    let app = TestApp::spawn_with(&["--query-memory-mb", "1"]);
    let batch: Vec<Value> = (0..300)
        .map(|i| json!({"event": "e", "distinct_id": format!("u{i}"), "properties": {"pad": "x".repeat(100)}}))
        .collect();
    let body = json!({"api_key": app.token(), "batch": batch});
    assert_eq!(app.capture("/batch/", &body).0, 200);
    // 90 000 property texts gathered into one array: far past 1 MiB, and an array cannot spill.
    let (status, body) = q(
        &app,
        1,
        "SELECT length(groupArray(a.properties)) FROM events a JOIN events b ON 1 = 1",
    );
    assert_eq!(
        (status, body["code"].clone()),
        (400, json!("query_memory_limit")),
        "{body}"
    );
    // Small queries still run under the same limit.
    assert_eq!(rows(&app, "SELECT count() FROM events"), json!([[300]]));
}

/// Queries mutated from the corpus (tokens dropped, repeated, swapped, replaced) answer 200 or a
/// 400 in the error shape: never a 5xx, whatever reaches the engine.
#[test]
fn mutated_queries_never_answer_5xx() {
    let app = loaded();
    let corpus: Vec<Value> =
        serde_json::from_str(include_str!("../fixtures/corpus/corpus.json")).unwrap();
    let vocab = [
        "(",
        ")",
        ",",
        "'x'",
        "1",
        "-1",
        "0.5",
        "null",
        "NULL",
        "[",
        "]",
        "=",
        "!=",
        "<",
        "??",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "BETWEEN",
        "SELECT",
        "FROM",
        "events",
        "groups",
        "WHERE",
        "GROUP BY",
        "ORDER BY",
        "LIMIT",
        "OVER",
        "properties",
        ".",
        "$group_0",
        "group_0",
        "count()",
        "sum(",
        "toDate(",
        "arrayJoin(",
        "JSONExtractString(",
        "::",
        "CAST(",
        "AS",
        "INTERVAL",
        "DAY",
        "UNION ALL",
        "*",
        "/",
        "%",
        "1e308",
        "'2026-13-45'",
        "now()",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for round in 0..300 {
        let base = corpus[next(corpus.len())]["query"].as_str().unwrap();
        let mut tokens: Vec<String> = base.split(' ').map(str::to_owned).collect();
        for _ in 0..1 + next(3) {
            let i = next(tokens.len());
            match next(4) {
                0 => {
                    tokens.remove(i);
                }
                1 => tokens.insert(i, tokens[i].clone()),
                2 => {
                    let j = next(tokens.len());
                    tokens.swap(i, j)
                }
                _ => tokens[i] = vocab[next(vocab.len())].to_owned(),
            }
            if tokens.is_empty() {
                tokens.push("SELECT".into());
            }
        }
        let text = tokens.join(" ");
        let (status, body) = q(&app, 1, &text);
        assert!(
            status == 200 || (status == 400 && body["type"] == "validation_error"),
            "round {round}: {text}\n{status} {body}"
        );
    }
}
