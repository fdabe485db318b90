//! The README's commands, run as written: every `sh` block from "Set up and run" to "Query with
//! HogQL", in a fresh directory, against the binary under test. A README that drifts from what
//! groupd does fails here.
use std::{net::TcpListener, os::unix::fs::symlink, path::Path, process::Command};

use serde_json::Value;

use crate::helpers::*;

/// The sections whose shell blocks a newcomer runs in order.
const SECTIONS: [&str; 3] = [
    "Set up and run",
    "A walk through the API with curl",
    "Query with HogQL",
];

/// The `sh` blocks of `SECTIONS`, in README order.
fn blocks(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut section, mut block): (&str, Option<String>) = ("", None);
    for line in readme.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h;
        } else if block.is_none() && line == "```sh" {
            block = Some(String::new());
        } else if line == "```" && block.is_some() {
            let b = block.take().unwrap();
            if SECTIONS.iter().any(|s| section.starts_with(s)) {
                out.push(b);
            }
        } else if let Some(b) = block.as_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    out
}

/// The blocks as one script: the build is already done, the server runs in the background on a
/// free port, and a failed HTTP answer fails the script.
fn script(blocks: &[String], port: u16) -> String {
    let mut s = String::from("set -euo pipefail\n");
    for b in blocks {
        for line in b.lines() {
            let line = line
                .strip_prefix("cargo build --release && ")
                .unwrap_or(line);
            let line = line.replace("127.0.0.1:8000", &format!("127.0.0.1:{port}"));
            if line.trim() == "./target/release/groupd serve" {
                s.push_str(&format!(
                    "./target/release/groupd serve --listen 127.0.0.1:{port} 2>serve.log &\n\
                     for _ in $(seq 100); do curl -sf http://127.0.0.1:{port}/_health >/dev/null && break; sleep 0.1; done\n"
                ));
            } else {
                s.push_str(&line.replace("curl -s ", "curl -s --fail-with-body -w '\\n' "));
                s.push('\n');
            }
        }
        s.push_str("echo\n");
    }
    s
}

#[test]
fn the_readmes_commands_work_as_written() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(readme_path).expect("README.md");
    let blocks = blocks(&readme);
    assert_eq!(blocks.len(), 3, "the README's sh blocks moved: {blocks:#?}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("target/release")).unwrap();
    symlink(groupd_bin(), dir.path().join("target/release/groupd")).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = script(&blocks, port);
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{script}\nkill %1 2>/dev/null || true; wait"))
        .current_dir(dir.path())
        .env_remove("GROUPD_DATABASE_URL")
        .env_remove("GROUPD_LISTEN")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README's commands failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // What the walk-through did, answer by answer: the project, the group, its change, the query.
    let answers: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let project = &answers[0];
    assert_eq!(
        (&project["id"], &project["name"]),
        (&1.into(), &"demo".into())
    );
    assert!(
        answers
            .iter()
            .any(|a| a["group_key"] == "acme" && a["group_properties"]["seats"] == 13),
        "{stdout}"
    );
    let activity = answers
        .iter()
        .find(|a| a["results"][0]["activity"] == "update_property")
        .unwrap_or_else(|| panic!("no activity answer: {stdout}"));
    assert_eq!(activity["results"][0]["detail"]["changes"][0]["after"], 13);
    let query = answers.last().unwrap();
    assert!(query["columns"].is_array(), "the query answered: {query}");
}
