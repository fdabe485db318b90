//! The black-box harness. Most tests run the server in-process ([`TestApp::spawn`]: the real
//! router on `127.0.0.1:0`, the real store on a fresh database, a [`groupd_core::FixedClock`]);
//! crash, multi-process, backpressure, SDK and CLI tests run the real `groupd` binary
//! ([`TestApp::spawn_process`], [`TestServer`]). Either way tests speak HTTP through
//! [`ApiClient`], one method per route.
//!
//! The same sources build two test targets: `api` runs them on a temporary SQLite file, `api_pg`
//! on a fresh PostgreSQL database (created on the server at `GROUPD_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and dropped afterwards).
mod app;
mod certs;
mod client;
mod db;
mod logs;
// The `api` target's fault tests use all of it, `api_pg`'s TLS test a part.
#[allow(dead_code)]
mod private_pg;
mod process;

pub use app::{T0, T0_US, TestApp};
pub use certs::test_certificates;
pub use client::{ApiClient, read};
pub use db::{Backend, TestDb, backend, groupd_bin};
pub use logs::LogLines;
#[allow(unused_imports)]
pub use private_pg::{PrivatePg, is_root, run};
pub use process::TestServer;

use serde_json::{Value, json};

/// Asserts the contract's error envelope.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, code: &str, detail: &str, attr: Option<&str>) {
    assert_eq!(got.0, status, "status; body: {}", got.1);
    assert_eq!(got.1["code"], code, "code; body: {}", got.1);
    assert_eq!(got.1["detail"], detail, "detail; body: {}", got.1);
    assert_eq!(
        got.1["attr"],
        attr.map_or(Value::Null, |a| json!(a)),
        "attr; body: {}",
        got.1
    );
    assert!(got.1["type"].is_string(), "type; body: {}", got.1);
}

/// Asserts 404 `Not found.`
#[track_caller]
pub fn assert_not_found(got: &(u16, Value)) {
    assert_error(got, 404, "not_found", "Not found.", None);
}

/// Asserts 400 for a value of `attr` that must be an integer.
#[track_caller]
pub fn assert_not_an_integer(got: &(u16, Value), attr: &str) {
    assert_error(
        got,
        400,
        "invalid_input",
        "A valid integer is required.",
        Some(attr),
    );
}

/// Asserts 405 for `method`.
#[track_caller]
pub fn assert_method_not_allowed(got: &(u16, Value), method: &str) {
    assert_error(
        got,
        405,
        "method_not_allowed",
        &format!("Method \"{method}\" not allowed."),
        None,
    );
}

/// Asserts 401 for a request without credentials.
#[track_caller]
pub fn assert_not_authenticated(got: &(u16, Value)) {
    assert_error(
        got,
        401,
        "not_authenticated",
        "Authentication credentials were not provided.",
        None,
    );
}

/// Asserts 401 for an unknown key found in `place` (`Authorization header`, `body`, …).
#[track_caller]
pub fn assert_authentication_failed(got: &(u16, Value), place: &str) {
    assert_error(
        got,
        401,
        "authentication_failed",
        &format!("Personal API key found in request {place} is invalid."),
        None,
    );
}

/// Asserts a 403 for a missing scope.
#[track_caller]
pub fn assert_missing_scope(got: &(u16, Value), scope: &str) {
    assert_error(
        got,
        403,
        "permission_denied",
        &format!("API key missing required scope '{scope}'"),
        None,
    );
}

/// Asserts a client error (4xx) in the contract's error envelope: `type`, `code`, `detail`
/// strings and an `attr` that is a string or null.
#[track_caller]
pub fn assert_client_error(got: &(u16, Value)) {
    assert!(
        (400..500).contains(&got.0),
        "status {}; body: {}",
        got.0,
        got.1
    );
    for field in ["type", "code", "detail"] {
        assert!(got.1[field].is_string(), "{field}; body: {}", got.1);
    }
    assert!(
        got.1
            .get("attr")
            .is_some_and(|a| a.is_null() || a.is_string()),
        "attr; body: {}",
        got.1
    );
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

/// The `group_key` of every group of a list page, in order.
pub fn keys(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("a list page: {page}"))
        .iter()
        .map(|g| g["group_key"].as_str().unwrap().to_owned())
        .collect()
}
