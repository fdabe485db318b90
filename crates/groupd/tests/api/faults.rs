//! Faults of the database: a PostgreSQL that stops or freezes (a private throwaway cluster, never
//! the shared one) and a SQLite disk that fills up (a small tmpfs). Each answers what
//! `operations.md` ("Faults and limits") says, recovers by itself, and loses nothing answered.
//! They need root (to run PostgreSQL as its own user, to mount); without it they skip.
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::helpers::*;

/// A project and a `*` key made with the CLI on `db`; (token, key).
fn setup(db: &TestDb) -> (String, String) {
    let p = db.cli_create_project("faults");
    let key = db.cli_create_key("faults", "*", &[]);
    (p["api_token"].as_str().unwrap().to_owned(), key)
}

/// One capture batch of `n` events with `pad` bytes of property each; its status and
/// `Retry-After`.
fn capture(
    client: &Client,
    base: &str,
    token: &str,
    n: usize,
    pad: usize,
) -> (u16, Option<String>) {
    let batch: Vec<Value> = (0..n)
        .map(|i| {
            json!({"event": "e", "distinct_id": format!("u{i}"), "uuid": uuid::Uuid::new_v4().to_string(),
                   "properties": {"pad": "x".repeat(pad)}})
        })
        .collect();
    match client
        .post(format!("{base}/batch/"))
        .json(&json!({"api_key": token, "batch": batch}))
        .send()
    {
        Ok(r) => (
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned()),
        ),
        Err(_) => (0, None),
    }
}

/// Sends small batches until one is answered 200; how long that took (at most `limit`).
fn recovered(client: &Client, base: &str, token: &str, limit: Duration) -> Duration {
    let t = Instant::now();
    while capture(client, base, token, 10, 10).0 != 200 {
        assert!(t.elapsed() < limit, "no recovery within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    t.elapsed()
}

/// `/_health`: status, body, and how long it took.
fn health(client: &Client, base: &str) -> (u16, Value, Duration) {
    let t = Instant::now();
    let r = client.get(format!("{base}/_health")).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null), t.elapsed())
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap()
}

fn stored_count(db: &TestDb) -> usize {
    db.stored_events(None).len()
}

#[test]
fn a_stopped_postgres_is_503_with_retry_after_and_service_resumes_by_itself() {
    let Some(pg) = PrivatePg::start() else { return };
    let db = TestDb::at(&pg.url("groupd"));
    let (token, key) = setup(&db);
    let server = TestServer::start(&db, &[]);
    let (c, api) = (client(), ApiClient::for_server(&server.base, &key, 1));
    let mut answered = 0;
    assert_eq!(capture(&c, &server.base, &token, 10, 10).0, 200);
    answered += 10;

    pg.stop();
    let (status, retry) = capture(&c, &server.base, &token, 10, 10);
    assert_eq!((status, retry.is_some()), (503, true), "capture while down");
    let (status, body) = api.list_groups("group_type_index=0");
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    let (status, body, took) = health(&c, &server.base);
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert!(
        body["reason"].is_string() && took < Duration::from_millis(2500),
        "{took:?}"
    );

    pg.ctl_start();
    let back = recovered(&c, &server.base, &token, Duration::from_secs(20));
    answered += 10;
    eprintln!("recovered {:?} after PostgreSQL came back", back);
    assert_eq!(health(&c, &server.base).0, 200);
    assert_eq!(
        stored_count(&db),
        answered,
        "every answered event is stored, once"
    );
    assert!(
        !server
            .logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("status=500"))
    );
}

#[test]
fn a_frozen_postgres_answers_health_within_2s_and_requests_503_in_time() {
    let Some(pg) = PrivatePg::start() else { return };
    let db = TestDb::at(&pg.url("groupd"));
    let (token, _key) = setup(&db);
    let server = TestServer::start(&db, &["--request-timeout-secs", "3"]);
    let c = client();
    assert_eq!(capture(&c, &server.base, &token, 10, 10).0, 200);

    pg.signal("-STOP");
    let (status, body, took) = health(&c, &server.base);
    assert_eq!(status, 503, "{body}");
    assert!(took < Duration::from_millis(2500), "health took {took:?}");
    let t = Instant::now();
    let (status, retry) = capture(&c, &server.base, &token, 10, 10);
    assert_eq!((status, retry.is_some()), (503, true));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "capture took {:?}",
        t.elapsed()
    );

    pg.signal("-CONT");
    recovered(&c, &server.base, &token, Duration::from_secs(20));
    assert_eq!(health(&c, &server.base).0, 200);
}

/// A tmpfs of `mb` MiB, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mb: u32) -> Option<Self> {
        if !is_root() {
            eprintln!("skipped: needs root to mount a tmpfs");
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let mounted = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(dir.path()));
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs");
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte with a file; returns its path.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", filler.display()))
            .stderr(std::process::Stdio::null())
            .status();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        run(Command::new("umount").arg("-l").arg(self.dir.path()));
    }
}

#[test]
fn a_full_sqlite_disk_is_507_reads_still_work_and_writes_resume() {
    let Some(disk) = SmallDisk::mount(24) else {
        return;
    };
    let db = TestDb::at(&format!(
        "sqlite://{}",
        disk.path().join("groupd.db").display()
    ));
    let (token, key) = setup(&db);
    let server = TestServer::start(&db, &[]);
    let (c, api) = (client(), ApiClient::for_server(&server.base, &key, 1));
    assert_eq!(api.create_type(&json!({"group_type": "company"})).0, 201);
    let mut answered = 0;
    assert_eq!(capture(&c, &server.base, &token, 50, 100).0, 200);
    answered += 50;

    let filler = disk.fill();
    let mut full = None;
    for _ in 0..400 {
        match capture(&c, &server.base, &token, 100, 2000) {
            (200, _) => answered += 100,
            (status, retry) => {
                full = Some((status, retry));
                break;
            }
        }
    }
    let (status, retry) = full.expect("the disk never filled up");
    eprintln!("disk full after {answered} answered events");
    assert_eq!(
        (status, retry.is_some()),
        (507, true),
        "a write on a full disk"
    );
    let (status, body, _) = health(&c, &server.base);
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("degraded")),
        "{body}"
    );
    assert_eq!(api.list_types().0, 200, "reads keep working");
    let (status, body) = api.create_group(&json!({"group_type_index": 0, "group_key": "x"}));
    assert_eq!(
        (status, body["code"].as_str()),
        (507, Some("insufficient_storage")),
        "{body}"
    );

    std::fs::remove_file(filler).unwrap();
    recovered(&c, &server.base, &token, Duration::from_secs(10));
    answered += 10;
    assert_eq!(health(&c, &server.base).0, 200);
    assert_eq!(
        stored_count(&db),
        answered,
        "every answered event is stored, once"
    );
    drop(server);
}
