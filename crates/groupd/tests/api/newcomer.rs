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

/// The last line of `stderr`, which must be a JSON log line at level ERROR.
fn json_error_line(stderr: &str) -> Value {
    let last = stderr.trim().lines().last().unwrap_or_default();
    let line: Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
    assert_eq!(line["level"], "ERROR", "{line}");
    line
}

#[test]
fn a_command_line_error_is_a_json_line_when_logs_are_json() {
    // Asked by the flag, before or after the subcommand, or by the environment twin.
    for args in [
        &["--log-format", "json", "key", "create", "--scopes", "*"][..],
        &["key", "create", "--scopes", "*", "--log-format=json"][..],
    ] {
        let (code, out, err) = groupd(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        let line = json_error_line(&err);
        assert!(
            line["error"].as_str().unwrap().contains("--label"),
            "{line}"
        );
    }
    let out = Command::new(groupd_bin())
        .args(["key", "list", "--no-such-flag"])
        .env("GROUPD_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = json_error_line(&String::from_utf8_lossy(&out.stderr));
    assert!(
        line["error"].as_str().unwrap().contains("--no-such-flag"),
        "{line}"
    );
    // Text logs keep clap's own message; help is help, not an error.
    let (code, _, err) = groupd(&["key", "create", "--scopes", "*"]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("error:") && err.contains("--label"),
        "{err}"
    );
    let (code, out, _) = groupd(&["--log-format", "json", "key", "create", "--help"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("--scopes"), "{out}");
}

#[test]
fn a_refused_input_is_a_json_line_when_logs_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let (code, out, err) = groupd(&[
        "--log-format",
        "json",
        "--database",
        &url,
        "key",
        "create",
        "--label",
        "x",
        "--scopes",
        "group:nope",
    ]);
    assert_ne!(code, Some(0));
    assert!(out.is_empty(), "{out}");
    let line = json_error_line(&err);
    assert!(
        line["error"].as_str().unwrap().contains("group:nope"),
        "{line}"
    );
    assert!(
        !dir.path().join("g.db").exists(),
        "a refused command creates nothing"
    );
}

/// Flags only `serve` reads (`--listen` and `--max-group-types` are common settings, as
/// operations.md lists them, accepted before or after any subcommand).
const SERVE_ONLY: &[&str] = &[
    "--max-connections",
    "--request-timeout-secs",
    "--query-timeout-secs",
    "--max-rest-body-bytes",
    "--cors-origins",
    "--compaction-interval-secs",
    "--change-retention-secs",
    "--no-ui",
];

#[test]
fn each_commands_help_lists_only_the_flags_that_apply_to_it() {
    let (code, key_create, _) = groupd(&["key", "create", "-h"]);
    assert_eq!(code, Some(0));
    for flag in [
        "--label",
        "--scopes",
        "--project",
        "--database",
        "--log-format",
        "--listen",
        "--max-group-types",
    ] {
        assert!(
            key_create.contains(flag),
            "key create -h lacks {flag}:\n{key_create}"
        );
    }
    for flag in SERVE_ONLY.iter().chain(&["--data-dir"]) {
        assert!(
            !key_create.contains(flag),
            "key create -h lists {flag}:\n{key_create}"
        );
    }
    for cmd in [
        &[][..],
        &["migrate"],
        &["project", "create"],
        &["project", "list"],
        &["key", "list"],
        &["key", "revoke"],
        &["export"],
        &["import"],
        &["backup"],
    ] {
        let (code, help, _) = groupd(&[cmd, &["--help"]].concat());
        assert_eq!(code, Some(0), "{cmd:?}");
        assert!(help.contains("--database"), "{cmd:?}:\n{help}");
        for flag in SERVE_ONLY {
            assert!(!help.contains(flag), "{cmd:?} --help lists {flag}:\n{help}");
        }
    }
    let (_, serve, _) = groupd(&["serve", "--help"]);
    for flag in SERVE_ONLY
        .iter()
        .chain(&["--data-dir", "--max-group-types", "--database"])
    {
        assert!(serve.contains(flag), "serve --help lacks {flag}");
    }
    // The two serve settings other commands need, where they need them.
    let (_, import, _) = groupd(&["import", "--help"]);
    assert!(import.contains("--max-group-types"), "{import}");
    let (_, backup, _) = groupd(&["backup", "--help"]);
    assert!(backup.contains("--data-dir"), "{backup}");
    // A serve flag given to another command is a usage error naming it.
    let (code, _, err) = groupd(&["key", "list", "--cors-origins", "*"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--cors-origins"), "{err}");
}

/// operations.md: setting flags are accepted before or after the subcommand.
#[test]
fn common_settings_go_before_or_after_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let (code, _, err) = groupd(&["--database", &url, "--max-group-types", "3", "migrate"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = groupd(&["migrate", "--database", &url, "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(0), "{err}");
    // `groupd --listen ADDR serve`: the address given before the subcommand is the one bound.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_groupd"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            &url,
            "serve",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut up = false;
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        up,
        "serve did not listen on the address given before the subcommand"
    );
}
