//! The real PostHog SDKs pointed at groupd: `posthog` for Python (from PyPI) and `posthog-node`
//! (from npm, into `fixtures/sdk/node/`); `.ci/run` installs both.
use std::{path::Path, process::Command};

use serde_json::json;

use crate::helpers::*;

const SCRIPT: &str = r#"
import sys
from posthog import Posthog
host, token, gzip = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
errors = []
ph = Posthog(token, host=host, sync_mode=True, gzip=gzip, on_error=lambda e, batch: errors.append(repr(e)))
ph.group_identify("company", "acme", {"name": "Acme", "seats": 5, "tags": ["b2b"]}, distinct_id="u1")
ph.capture("purchase", distinct_id="u1", properties={"amount": 5.5}, groups={"company": "acme", "project": "p1"})
ph.group_identify("project", "p1", distinct_id="u1")
ph.group_identify("company", "acme", {"seats": 6}, distinct_id="u1")
ph.flush()
ph.shutdown()
if errors:
    print("SDK errors:", errors, file=sys.stderr)
    sys.exit(1)
"#;

/// What both SDK scripts leave: acme with its merged properties, p1 without any.
fn assert_the_scripts_groups(app: &TestApp) {
    let (status, acme) = app.find(0, "acme");
    assert_eq!(status, 200, "{acme}");
    assert_eq!(
        acme["group_properties"],
        json!({"name": "Acme", "seats": 6, "tags": ["b2b"]})
    );
    let (status, p1) = app.find(1, "p1");
    assert_eq!((status, p1["group_properties"].clone()), (200, json!({})));
}

fn run_sdk(gzip: bool) {
    // A real process, as the SDK would meet it in production.
    let app = TestApp::spawn_process(&[], &[]);
    let out = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            &app.base,
            &app.token(),
            if gzip { "1" } else { "0" },
        ])
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'posthog'"),
        "the posthog SDK is not installed: python3 -m pip install posthog (.ci/run does)"
    );
    assert!(out.status.success(), "SDK script failed: {stderr}");
    assert_the_scripts_groups(&app);
    let (_, types) = app.list_types();
    assert_eq!(types[0]["group_type"], "company");
    assert_eq!(types[1]["group_type"], "project");
}

#[test]
fn the_python_sdk_creates_and_updates_groups() {
    run_sdk(false);
}

#[test]
fn the_python_sdk_with_gzip_creates_and_updates_groups() {
    run_sdk(true);
}

/// `posthog-node` in `fixtures/sdk/node/`: `capture.js` sends a `$groupidentify`, an event with
/// groups, a group without properties and an update, then shuts the client down (one batch).
fn run_node_sdk(compress: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdk/node");
    assert!(
        dir.join("node_modules/posthog-node").is_dir(),
        "posthog-node is not installed: npm ci --prefix {} (.ci/run does)",
        dir.display()
    );
    let app = TestApp::spawn_process(&[], &[]);
    let out = Command::new("node")
        .current_dir(&dir)
        .args([
            "capture.js",
            &app.base,
            &app.token(),
            if compress { "1" } else { "0" },
        ])
        .output()
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "SDK script failed: {stderr}");
    assert_the_scripts_groups(&app);
    let (status, body) = app.query(
        "SELECT event, distinct_id, $group_0, $group_1, properties.amount FROM events \
         WHERE event != '$groupidentify'",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([["purchase", "u1", "acme", "p1", 5.5]]),
        "{body}"
    );
}

#[test]
fn the_node_sdk_creates_groups_and_captures_an_event_with_groups() {
    run_node_sdk(false);
}

#[test]
fn the_node_sdk_with_gzip_creates_groups_and_captures_an_event_with_groups() {
    run_node_sdk(true);
}
