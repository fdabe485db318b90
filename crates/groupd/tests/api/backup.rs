//! `groupd backup --out FILE` (issue 16): an online, consistent copy of a running SQLite database
//! and its event segments, served as it was; PostgreSQL is told to use pg_dump.
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;

use crate::helpers::*;

fn parquet_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                parquet_files(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "parquet"))
            }
        })
        .sum()
}

#[test]
fn a_backup_taken_while_a_server_writes_serves_everything_answered_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.db");
    let out_s = out.display().to_string();
    if backend() == Backend::Postgres {
        let db = TestDb::new();
        let (code, _, err) = db.cli_exit(&["backup", "--out", &out_s]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("pg_dump"), "{err}");
        assert!(!out.exists());
        return;
    }
    // Compaction every second, so the backup has segments to copy.
    let db = TestDb::new();
    let project = db.cli_create_project("Test project");
    let key = db.cli_create_key("ci-key", "*", &[]);
    let mut cmd = std::process::Command::new(groupd_bin());
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0", "--database", &db.url])
        .args([
            "--compaction-interval-secs",
            "1",
            "--compaction-min-age-secs",
            "0",
        ]);
    let server = TestServer::start_command(cmd);
    let app = ApiClient::for_server(&server.base, &key, project["id"].as_i64().unwrap());
    let token = project["api_token"].as_str().unwrap().to_owned();
    assert_eq!(app.create_type(&json!({"group_type": "company"})).0, 201);
    // Events that move into segments before the backup.
    let events: Vec<_> = (0..40)
        .map(|i| json!({"event": "e", "distinct_id": format!("u{i}")}))
        .collect();
    let got = app.capture("/batch/", &json!({"api_key": token, "batch": events}));
    assert_eq!(got.0, 200);
    let segments = std::path::PathBuf::from(format!(
        "{}.segments",
        db.url.strip_prefix("sqlite://").unwrap()
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while parquet_files(&segments) == 0 {
        assert!(Instant::now() < deadline, "no segment was written");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A writer that keeps creating groups, recording each one answered.
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, answered, stop) = (app.clone(), answered.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("g{i:06}");
                let (status, _) = client.create_group(
                    &json!({"group_type_index": 0, "group_key": key, "group_properties": {"i": i}}),
                );
                assert_eq!(status, 201);
                answered.lock().unwrap().push(key);
                i += 1;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let before = answered.lock().unwrap().len();
    let (ok, stdout, err) = db.cli(&["backup", "--out", &out_s]);
    let after = answered.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(ok, "{err}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["database"], out_s);
    assert!(
        before > 0 && after > before,
        "the server kept writing: {before} then {after}"
    );
    let copy_segments = dir.path().join("copy.db.segments");
    assert!(parquet_files(&copy_segments) > 0);

    // The copy, served on its own: every group answered before the backup began, none it could
    // not have seen, and every event (from its segments and its rows).
    let copy = TestDb::at(&format!("sqlite://{out_s}"));
    let server = TestServer::start(&copy, &[]);
    let client = app.on(&server.base);
    let mut keys = Vec::new();
    let mut url = client.purl("/groups/?group_type_index=0&limit=1000");
    loop {
        let (status, page) = client.get(&url);
        assert_eq!(status, 200, "{page}");
        keys.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["group_key"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(n) => url = n.to_owned(),
            None => break,
        }
    }
    let answered = answered.lock().unwrap();
    assert!(
        keys.len() >= before && keys.len() <= after,
        "{} of {before}..{after}",
        keys.len()
    );
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        answered[..keys.len()],
        "the copy holds a prefix of the writes"
    );
    let (status, got) = client.query("SELECT count() FROM events");
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["results"][0][0], 40);
    // A second backup to the same file is refused: it never overwrites.
    let (code, _, err) = db.cli_exit(&["backup", "--out", &out_s]);
    assert_eq!(code, Some(2), "{err}");
}
