//! `groupd import --from-posthog URL --personal-api-key K --project ID` (issue 16): a second
//! groupd plays PostHog (it speaks the same `groups_types/` and `groups/` API, cursor and all).
use serde_json::json;

use crate::helpers::*;

#[test]
fn import_from_posthog_copies_every_group_of_every_type_page_by_page() {
    let source = TestApp::spawn();
    source.new_type("company");
    source.new_type("team");
    // More than one page of the list (100 a page).
    for i in 0..130 {
        source.new_group(
            0,
            &format!("c{i:03}"),
            json!({"i": i, "name": format!("C{i}")}),
        );
    }
    source.new_group(1, "red", json!({"colour": "red"}));

    let target = TestDb::new();
    let project = target.cli_create_project("migrated")["id"].to_string();
    let (ok, out, err) = target.cli(&[
        "import",
        "--project",
        &project,
        "--from-posthog",
        &source.base,
        "--personal-api-key",
        &source.key,
        "--posthog-project",
        "1",
    ]);
    assert!(ok, "{err}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        answer,
        json!({"imported": 131, "failed": [], "dry_run": false})
    );
    // The target holds the same groups: compare the two exports.
    let (ok, exported, err) = target.cli(&["export", "--project", &project]);
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 131);
    assert_eq!(lines[5]["group_key"], "c005");
    assert_eq!(lines[5]["properties"], json!({"i": 5, "name": "C5"}));
    assert_eq!(lines[5]["created_at"], "2026-06-01T00:00:00Z");
    assert_eq!(lines[130]["group_type"], "team");
    assert_eq!(lines[130]["group_type_index"], 1);

    // A wrong key is a clear failure, and nothing is imported.
    let (ok, _, err) = target.cli(&[
        "import",
        "--project",
        &project,
        "--from-posthog",
        &source.base,
        "--personal-api-key",
        "phx_wrong",
    ]);
    assert!(!ok);
    assert!(err.contains("401"), "{err}");
}
