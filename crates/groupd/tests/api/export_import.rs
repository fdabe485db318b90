//! NDJSON export and import (`lifecycle.md`, "Export and import"): the export's lines, gzip and
//! paging; the import's two line forms, merge rule, per-line report, dry run, atomic mode,
//! limits and idempotence; the REST and CLI round trips into an empty project.
use std::io::{Read, Write};

use flate2::{Compression, read::GzDecoder, write::GzEncoder};
use serde_json::{Value, json};

use crate::helpers::*;

/// `GET /groups/export?{query}` → (status, content type, content encoding, body bytes).
fn export_raw(app: &ApiClient, query: &str, gzip: bool) -> (u16, String, String, Vec<u8>) {
    let mut r = app.request("GET", &app.purl(&format!("/groups/export?{query}")));
    if gzip {
        r = r.header("accept-encoding", "gzip");
    }
    let resp = r.send().unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (status, ct, ce) = (
        resp.status().as_u16(),
        header("content-type"),
        header("content-encoding"),
    );
    (status, ct, ce, resp.bytes().unwrap().to_vec())
}

/// The export's lines, parsed.
fn export_lines(app: &ApiClient, index: i64) -> Vec<Value> {
    let (status, ct, _, body) = export_raw(app, &format!("group_type_index={index}"), false);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/x-ndjson");
    parse_lines(&body)
}

fn parse_lines(body: &[u8]) -> Vec<Value> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `POST /groups/import?{query}` with an NDJSON body.
fn import(app: &ApiClient, query: &str, body: &str) -> (u16, Value) {
    app.call_raw(
        "POST",
        &app.purl(&format!("/groups/import?{query}")),
        "application/x-ndjson",
        body.to_owned(),
    )
}

fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn export_writes_one_line_per_group_of_the_type_in_key_order() {
    let app = TestApp::spawn();
    let company = app.new_type("company");
    let team = app.new_type("team");
    app.new_group(company, "globex", json!({"name": "Globex"}));
    app.new_group(company, "acme", json!({"name": "Acme", "seats": 12}));
    app.new_group(team, "red", json!({}));
    let lines = export_lines(&app, company);
    assert_eq!(
        lines,
        [
            json!({"group_type": "company", "group_type_index": 0, "group_key": "acme",
                   "created_at": "2026-06-01T00:00:00Z", "properties": {"name": "Acme", "seats": 12}}),
            json!({"group_type": "company", "group_type_index": 0, "group_key": "globex",
                   "created_at": "2026-06-01T00:00:00Z", "properties": {"name": "Globex"}}),
        ]
    );
    // Key order of the properties is kept, as stored.
    let (_, _, _, body) = export_raw(&app, "group_type_index=0", false);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains(r#""properties": {"name":"Acme","seats":12}"#)
    );
    // An index without a type exports nothing.
    assert!(export_lines(&app, 4).is_empty());
}

#[test]
fn export_is_gzip_when_the_client_accepts_it() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"a": 1}));
    let (status, ct, ce, body) = export_raw(&app, "group_type_index=0", true);
    assert_eq!(
        (status, ct.as_str(), ce.as_str()),
        (200, "application/x-ndjson", "gzip")
    );
    let mut text = Vec::new();
    GzDecoder::new(body.as_slice())
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(parse_lines(&text)[0]["group_key"], "acme");
}

#[test]
fn export_checks_its_parameter_and_scope() {
    let app = TestApp::spawn();
    let got = app.get(&app.purl("/groups/export"));
    assert_error(
        &got,
        400,
        "invalid_input",
        "This query parameter is required.",
        Some("group_type_index"),
    );
    assert_not_an_integer(
        &app.get(&app.purl("/groups/export?group_type_index=x")),
        "group_type_index",
    );
    let reader = app.as_key(&app.new_key("q", "query:read", &[]));
    assert_missing_scope(
        &reader.get(&reader.purl("/groups/export?group_type_index=0")),
        "group:read",
    );
    let writer_only = app.as_key(&app.new_key("r", "group:read", &[]));
    let got = import(&writer_only, "", "");
    assert_missing_scope(&got, "group:write");
}

#[test]
fn export_pages_through_many_groups_without_losing_or_doubling_one() {
    let app = TestApp::spawn();
    let lines: Vec<Value> = (0..2500)
        .map(
            |i| json!({"group_type": "company", "group_key": format!("g{i:05}"), "$set": {"n": i}}),
        )
        .collect();
    let (status, body) = import(&app, "", &ndjson(&lines));
    assert_eq!(
        (status, body["imported"].as_u64()),
        (200, Some(2500)),
        "{body}"
    );
    let out = export_lines(&app, 0);
    assert_eq!(out.len(), 2500);
    let keys: std::collections::BTreeSet<&str> = out
        .iter()
        .map(|l| l["group_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 2500);
    assert_eq!(out[1234]["properties"]["n"], 1234);
}

#[test]
fn import_takes_both_line_forms_creates_the_type_and_reports_bad_lines() {
    let app = TestApp::spawn();
    let body = [
        r#"{"group_type": "company", "group_type_index": 3, "group_key": "acme", "created_at": "2026-05-02T00:00:00Z", "properties": {"name": "Acme", "seats": 12}}"#,
        r#"{"group_type": "company", "group_key": "globex", "$set": {"name": "Globex"}, "$set_once": {"first": "x"}, "timestamp": "2026-05-03T00:00:00Z"}"#,
        "",
        r#"{"group_type": "company", "group_key": ""}"#,
        r#"{"group_type": "company", "group_key": "bad", "$set": [1]}"#,
        r#"not json"#,
        r#"{"group_key": "t"}"#,
    ]
    .join("\n");
    let (status, got) = import(&app, "", &body);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["imported"], 2);
    assert_eq!(got["dry_run"], false);
    let failed = got["failed"].as_array().unwrap();
    assert_eq!(
        failed[0],
        json!({"line": 4, "group_key": "", "attr": "group_key", "detail": "This field may not be blank."})
    );
    assert_eq!(
        failed[1],
        json!({"line": 5, "group_key": "bad", "attr": "$set", "detail": "Expected a dictionary of items but got type \"list\"."})
    );
    assert_eq!(
        (failed[2]["line"].as_u64(), failed[2]["attr"].is_null()),
        (Some(6), true)
    );
    assert_eq!(
        (failed[3]["line"].as_u64(), failed[3]["attr"].as_str()),
        (Some(7), Some("group_type"))
    );
    assert_eq!(failed.len(), 4);
    // The type is new: it takes index 0 (the export line's index is ignored).
    let (_, types) = app.list_types();
    assert_eq!(types[0]["group_type"], "company");
    assert_eq!(types[0]["group_type_index"], 0);
    let (_, acme) = app.find(0, "acme");
    assert_eq!(acme["created_at"], "2026-05-02T00:00:00Z");
    assert_eq!(
        acme["group_properties"],
        json!({"name": "Acme", "seats": 12})
    );
    let (_, globex) = app.find(0, "globex");
    assert_eq!(globex["created_at"], "2026-05-03T00:00:00Z");
    assert_eq!(
        globex["group_properties"],
        json!({"name": "Globex", "first": "x"})
    );
}

#[test]
fn import_merges_by_event_time_as_capture_does() {
    let app = TestApp::spawn();
    let line = |value: &str, at: &str| json!({"group_type": "company", "group_key": "acme", "$set": {"plan": value}, "timestamp": at});
    let first = ndjson(&[
        line("new", "2026-05-02T10:00:00Z"),
        line("old", "2026-05-01T10:00:00Z"),
    ]);
    assert_eq!(import(&app, "", &first).0, 200);
    let (_, g) = app.find(0, "acme");
    assert_eq!(g["group_properties"]["plan"], "new");
    // The earliest event time is the group's creation.
    assert_eq!(g["created_at"], "2026-05-01T10:00:00Z");
    let unset = ndjson(&[
        json!({"group_type": "company", "group_key": "acme", "$unset": ["plan"], "timestamp": "2026-05-03T00:00:00Z"}),
    ]);
    assert_eq!(import(&app, "", &unset).0, 200);
    let (_, g) = app.find(0, "acme");
    assert_eq!(g["group_properties"], json!({}));
    // An older set does not bring the unset property back.
    assert_eq!(
        import(&app, "", &ndjson(&[line("older", "2026-05-02T12:00:00Z")])).0,
        200
    );
    assert_eq!(app.find(0, "acme").1["group_properties"], json!({}));
}

#[test]
fn a_dry_run_checks_every_line_and_writes_nothing() {
    let app = TestApp::spawn();
    let body = ndjson(&[
        json!({"group_type": "company", "group_key": "acme", "$set": {"a": 1}}),
        json!({"group_type": "company", "group_key": 5, "$set": "no"}),
    ]);
    let (status, got) = import(&app, "dry_run=true", &body);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["imported"], 1);
    assert_eq!(got["dry_run"], true);
    assert_eq!(got["failed"][0]["line"], 2);
    assert_eq!(got["failed"][0]["group_key"], "5");
    assert_eq!(app.list_types().1, json!([]));
    assert_error(
        &import(&app, "dry_run=maybe", &body),
        400,
        "invalid_input",
        "Must be a valid boolean.",
        Some("dry_run"),
    );
}

#[test]
fn an_atomic_import_with_a_failed_line_is_422_and_writes_nothing() {
    let app = TestApp::spawn();
    let good = json!({"group_type": "company", "group_key": "acme", "$set": {"a": 1}});
    let body = ndjson(&[
        good.clone(),
        json!({"group_type": "company", "group_key": "  "}),
    ]);
    let (status, got) = import(&app, "atomic=true", &body);
    assert_eq!(status, 422, "{got}");
    assert_eq!(got["imported"], 0);
    assert_eq!(got["failed"][0]["line"], 2);
    assert_eq!(got["failed"][0]["attr"], "group_key");
    assert_eq!(app.list_types().1, json!([]));
    // Without `atomic` the good line is written.
    let (status, got) = import(&app, "", &body);
    assert_eq!((status, got["imported"].as_u64()), (200, Some(1)));
    let (status, got) = import(&app, "atomic=true", &ndjson(&[good]));
    assert_eq!((status, got["imported"].as_u64()), (200, Some(1)), "{got}");
}

#[test]
fn a_type_past_the_limit_fails_its_lines_and_an_atomic_import_then_writes_nothing() {
    let app = TestApp::spawn_with(&["--max-group-types", "1"]);
    let body = ndjson(&[
        json!({"group_type": "company", "group_key": "a"}),
        json!({"group_type": "team", "group_key": "b"}),
    ]);
    let (status, got) = import(&app, "atomic=true", &body);
    assert_eq!(status, 422, "{got}");
    assert_eq!(
        got["failed"],
        json!([{"line": 2, "group_key": "b", "attr": "group_type",
                "detail": "This project already has the maximum of 1 group types."}])
    );
    assert_eq!(app.list_types().1, json!([]));
    let (status, got) = import(&app, "", &body);
    assert_eq!((status, got["imported"].as_u64()), (200, Some(1)), "{got}");
    assert_eq!(app.find(0, "a").0, 200);
}

#[test]
fn importing_the_same_file_twice_leaves_the_same_state() {
    let app = TestApp::spawn();
    let body = ndjson(&[
        json!({"group_type": "company", "group_key": "acme", "$set": {"a": 1}, "$set_once": {"b": 2}}),
        json!({"group_type": "company", "group_key": "acme", "$unset": ["a"]}),
        json!({"group_type": "company", "group_key": "globex", "created_at": "2026-01-01T00:00:00Z", "properties": {"c": 3}}),
    ]);
    assert_eq!(import(&app, "", &body).0, 200);
    let once = (
        app.list_groups("group_type_index=0").1,
        export_lines(&app, 0),
    );
    app.clock().set(T0_US + 60_000_000);
    assert_eq!(import(&app, "", &body).0, 200);
    let twice = (
        app.list_groups("group_type_index=0").1,
        export_lines(&app, 0),
    );
    assert_eq!(once, twice);
    assert_eq!(twice.1[0]["properties"], json!({"b": 2}));
}

#[test]
fn import_accepts_gzip_and_refuses_too_many_lines_or_bytes_with_413() {
    let app = TestApp::spawn_with(&["--max-capture-body-bytes", "400000"]);
    let body = ndjson(&[json!({"group_type": "company", "group_key": "zipped"})]);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let got = read(
        app.request("POST", &app.purl("/groups/import"))
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(gz.finish().unwrap())
            .send()
            .unwrap(),
    );
    assert_eq!(
        (got.0, got.1["imported"].as_u64()),
        (200, Some(1)),
        "{}",
        got.1
    );

    // Just past the byte limit (a body past twice the limit is cut off unread).
    let many = "{\"group_type\":\"t\",\"group_key\":\"k\"}\n".repeat(13_000);
    assert!((400_001..800_000).contains(&many.len()));
    let (status, got) = import(&app, "", &many[..]);
    // More bytes than the limit, then more lines than the limit: 413 either way, nothing written.
    assert_eq!(
        (status, got["code"].as_str()),
        (413, Some("payload_too_large")),
        "{got}"
    );
    let lines = "{}\n".repeat(100_001);
    let (status, got) = import(&app, "", &lines);
    assert_eq!(
        (status, got["code"].as_str()),
        (413, Some("payload_too_large")),
        "{got}"
    );
    assert_eq!(got["detail"], "The import holds more than 100000 lines.");
    let (_, types) = app.list_types();
    assert_eq!(types.as_array().unwrap().len(), 1, "{types}");
}

#[test]
fn a_rest_export_imported_into_an_empty_project_gives_the_same_groups() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"name": "Acme", "nested": {"x": [1, 2]}}));
    app.new_group(0, "globex", json!({}));
    let (_, _, _, body) = export_raw(&app, "group_type_index=0", false);
    let other = app.new_project("Empty");
    let target = app.in_project(other["id"].as_i64().unwrap());
    let (status, got) = import(&target, "", &String::from_utf8(body).unwrap());
    assert_eq!((status, got["imported"].as_u64()), (200, Some(2)), "{got}");
    assert_eq!(export_lines(&target, 0), export_lines(&app, 0));
}

/// Writes `text` to a file in a new temporary directory.
fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path.display().to_string())
}

#[test]
fn cli_export_of_a_project_imported_into_an_empty_one_gives_the_same_groups() {
    let db = TestDb::new();
    let p1 = db.cli_create_project("source")["id"].to_string();
    let p2 = db.cli_create_project("target")["id"].to_string();
    let seed = ndjson(&[
        json!({"group_type": "company", "group_key": "acme", "created_at": "2026-05-02T00:00:00Z", "properties": {"name": "Acme", "seats": 12}}),
        json!({"group_type": "company", "group_key": "globex", "$set": {"x": null}}),
        json!({"group_type": "team", "group_key": "red", "$set_once": {"colour": "red"}}),
        json!({"group_type": "team", "group_key": ""}),
    ]);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(seed.as_bytes()).unwrap();
    let (_dir, seed_file) = temp_file("seed.ndjson.gz", &gz.finish().unwrap());
    let (ok, out, err) = db.cli(&["import", "--project", &p1, &seed_file]);
    assert!(ok, "{err}");
    let answer: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["imported"], 3, "{out}");
    assert_eq!(answer["failed"][0]["line"], 4);
    assert_eq!(out.lines().count(), 1);

    let out_file = format!("{}/all.ndjson", _dir.path().display());
    let (ok, out, err) = db.cli(&["export", "--project", &p1, "--out", &out_file]);
    assert!(ok && out.is_empty(), "{out} {err}");
    let exported = std::fs::read(&out_file).unwrap();
    let lines = parse_lines(&exported);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["created_at"], "2026-05-02T00:00:00Z");
    assert_eq!(lines[2]["group_type"], "team");

    let (ok, out, err) = db.cli(&["import", "--project", &p2, &out_file, "--atomic"]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap()["imported"],
        3
    );
    let (ok, again, err) = db.cli(&["export", "--project", &p2]);
    assert!(ok, "{err}");
    assert_eq!(parse_lines(again.as_bytes()), lines);
    // One type by name or index.
    let (ok, teams, _) = db.cli(&["export", "--project", &p2, "--group-type", "team"]);
    assert!(ok);
    assert_eq!(parse_lines(teams.as_bytes()), lines[2..]);
    let (ok, by_index, _) = db.cli(&["export", "--project", &p2, "--group-type", "1"]);
    assert!(ok);
    assert_eq!(by_index, teams);
}

#[test]
fn cli_import_reads_stdin_and_refuses_unknown_projects() {
    let db = TestDb::new();
    let p = db.cli_create_project("p")["id"].to_string();
    let mut child = std::process::Command::new(groupd_bin())
        .args(["import", "--project", &p, "-", "--dry-run"])
        .env("GROUPD_DATABASE_URL", &db.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"group_type\":\"c\",\"group_key\":\"a\"}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, json!({"imported": 1, "failed": [], "dry_run": true}));
    // An atomic import with a failed line prints the answer, writes nothing and exits 1.
    let (_dir, bad) = temp_file(
        "bad.ndjson",
        b"{\"group_type\":\"c\",\"group_key\":\"a\"}\n{\"group_key\":\"b\"}\n",
    );
    let (code, out, _) = db.cli_exit(&["import", "--project", &p, &bad, "--atomic"]);
    assert_eq!(code, Some(1));
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["imported"].as_u64(), v["failed"][0]["line"].as_u64()),
        (Some(0), Some(2))
    );
    let (ok, exported, _) = db.cli(&["export", "--project", &p]);
    assert!(ok && exported.is_empty(), "{exported}");
    let (code, _, err) = db.cli_exit(&["export", "--project", "999"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("999"), "{err}");
}

#[test]
fn an_export_is_one_snapshot_even_while_groups_change_under_it() {
    let app = TestApp::spawn();
    // 5 pages of ~4 KB groups: more than the channel, the socket and the client buffer at once.
    let blob = "x".repeat(4000);
    for part in 0..2 {
        let lines: Vec<Value> = (part * 2500..(part + 1) * 2500)
            .map(|i| json!({"group_type": "company", "group_key": format!("g{i:05}"), "$set": {"v": "old", "blob": blob}}))
            .collect();
        let (status, got) = import(&app, "", &ndjson(&lines));
        assert_eq!(status, 200, "{got}");
    }
    let mut resp = app
        .request("GET", &app.purl("/groups/export?group_type_index=0"))
        .send()
        .unwrap();
    let mut first = vec![0u8; 64 * 1024];
    resp.read_exact(&mut first).unwrap();
    // Changes after the export began: a new group at the end of the key order, and a change
    // to the last group.
    app.new_group(0, "zzz", json!({}));
    let later =
        ndjson(&[json!({"group_type": "company", "group_key": "g04999", "$set": {"v": "new"}})]);
    assert_eq!(import(&app, "", &later).0, 200);
    let mut rest = Vec::new();
    resp.read_to_end(&mut rest).unwrap();
    first.extend(rest);
    let lines = parse_lines(&first);
    assert_eq!(lines.len(), 5000);
    assert_eq!(lines[4999]["group_key"], "g04999");
    assert_eq!(lines[4999]["properties"]["v"], "old");
    // The next export sees both changes.
    let now = export_lines(&app, 0);
    assert_eq!(now.len(), 5001);
    assert_eq!(now[4999]["properties"]["v"], "new");
}

#[test]
fn import_lines_are_recorded_with_source_import_and_refused_before_a_deletion() {
    let app = TestApp::spawn();
    let body = ndjson(&[
        json!({"group_type": "company", "group_key": "acme", "$set": {"plan": "pro"}, "timestamp": "2026-05-02T00:00:00Z"}),
    ]);
    assert_eq!(import(&app, "", &body).0, 200);
    let (status, p) = app.get(&app.purl("/groups/changes?since=0"));
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["results"][0]["source"], json!({"kind": "import"}));
    let (status, h) =
        app.get(&app.purl("/groups/property_history?group_type_index=0&group_key=acme"));
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["results"][0]["source"], json!({"kind": "import"}));
    // A deletion at T0 refuses an older line: it counts as merged (as capture would) and
    // changes nothing.
    assert_eq!(
        app.call("DELETE", &app.purl("/groups_types/0/groups/acme"))
            .0,
        204
    );
    let (status, got) = import(&app, "", &body);
    assert_eq!((status, got["imported"].as_u64()), (200, Some(1)), "{got}");
    assert_eq!(app.find(0, "acme").0, 404);
}
