//! What gets in a newcomer's way: a typo in a SQLite path, a PostgreSQL URL without a database,
//! `curl -d` without a JSON content type, fatal errors in JSON logs.
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;

fn groupd(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(groupd_bin())
        .args(args)
        .env_remove("GROUPD_DATABASE_URL")
        .output()
        .expect("run groupd");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_postgres_url_must_name_groupds_own_database() {
    for url in [
        "postgres://postgres@127.0.0.1:5432",
        "postgres://postgres@127.0.0.1:5432/",
        "postgres://postgres@127.0.0.1:5432/postgres",
    ] {
        let (code, out, err) = groupd(&["migrate", "--database", url]);
        assert_ne!(code, Some(0), "{url} was accepted");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains("postgres://user@host:5432/groupd") && err.contains("--allow-postgres-db"),
            "{url}: {err}"
        );
    }
}

#[test]
fn a_new_sqlite_file_is_announced_with_its_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let rel = "typo/groupd.db";
    let run = || {
        Command::new(groupd_bin())
            .current_dir(dir.path())
            .args(["project", "create", "--name", "demo", "--database"])
            .arg(format!("sqlite://{rel}"))
            .env_remove("GROUPD_DATABASE_URL")
            .output()
            .expect("run groupd")
    };
    let first = run();
    assert!(first.status.success());
    let abs = dir.path().join(rel).canonicalize().unwrap();
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        err.contains("created a new, empty SQLite database")
            && err.contains(&abs.display().to_string()),
        "{err}"
    );
    let line: Value = serde_json::from_slice(&first.stdout).expect("stdout is one JSON line");
    assert_eq!(line["name"], "demo");
    let again = run();
    assert!(again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        !err.contains("created a new"),
        "an existing file is not new: {err}"
    );
}

#[test]
fn a_json_body_sent_as_a_form_is_named_as_such() {
    let app = TestApp::spawn();
    app.new_type("organization");
    let got = app.call_raw(
        "POST",
        &app.purl("/groups/"),
        "application/x-www-form-urlencoded",
        json!({"group_type_index": 0, "group_key": "acme"}).to_string(),
    );
    assert_error(
        &got,
        400,
        "invalid_input",
        "The body is JSON but was sent as application/x-www-form-urlencoded (what curl -d sends): \
         add the header Content-Type: application/json.",
        None,
    );
    assert_eq!(app.find(0, "acme").0, 404, "nothing was created");
    // A real form still works.
    let (status, body) = app.call_raw(
        "POST",
        &app.purl("/groups/"),
        "application/x-www-form-urlencoded",
        "group_type_index=0&group_key=acme",
    );
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_fatal_error_is_a_json_line_when_logs_are_json() {
    let (code, _, err) = groupd(&["--log-format", "json", "migrate", "--database", "mysql://x"]);
    assert_ne!(code, Some(0));
    let line: Value = serde_json::from_str(err.trim().lines().last().unwrap())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {err}"));
    let text = line.to_string();
    assert!(text.contains("unsupported database URL"), "{text}");
    let (_, _, err) = groupd(&["migrate", "--database", "mysql://x"]);
    assert!(err.starts_with("error: unsupported database URL"), "{err}");
}
