//! Black-box harness: every test starts the real `groupd` binary on a random port over a fresh
//! database and speaks HTTP to it. The same sources build two test targets: `api` runs them on a
//! temporary SQLite file, `api_pg` on a fresh PostgreSQL database (created on the server at
//! `GROUPD_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/postgres`, and dropped
//! afterwards).
use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

/// The `groupd` binary under test.
pub fn groupd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_groupd"))
}

/// The database engine a test target runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `api` → SQLite, `api_pg` → PostgreSQL.
pub fn backend() -> Backend {
    if env!("CARGO_CRATE_NAME") == "api_pg" {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// The maintenance database of the PostgreSQL server the tests use.
fn pg_admin_url() -> String {
    std::env::var("GROUPD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn pg_admin() -> postgres::Client {
    let url = pg_admin_url();
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "the api_pg tests need a PostgreSQL server at {url} (set GROUPD_TEST_POSTGRES to another): {e}"
        )
    })
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database's name (`None` on SQLite).
    pg_name: Option<String>,
}

impl TestDb {
    pub fn new() -> Self {
        match backend() {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("groupd.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("groupd_test_{}", uuid::Uuid::new_v4().simple());
                pg_admin()
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create the test database");
                let admin = pg_admin_url();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// The events stored for `project` (every project when `None`), in time order, then in
    /// the order they were stored: (event, group keys by type index, uuid).
    pub fn stored_events(&self, project: Option<i64>) -> Vec<(String, Vec<String>, String)> {
        match &self.pg_name {
            None => {
                let path = self.url.strip_prefix("sqlite://").unwrap();
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut st = conn
                    .prepare(
                        "SELECT event, group_keys, uuid FROM events
                         WHERE ?1 IS NULL OR project_id = ?1 ORDER BY timestamp, created_at",
                    )
                    .unwrap();
                st.query_map([project], |r| {
                    let keys: String = r.get(1)?;
                    let uuid: Vec<u8> = r.get(2)?;
                    Ok((
                        r.get(0)?,
                        serde_json::from_str(&keys).unwrap(),
                        uuid::Uuid::from_slice(&uuid).unwrap().to_string(),
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
            }
            Some(_) => {
                let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
                // Events are only ever inserted, so the physical order is the order stored.
                c.query(
                    "SELECT event, group_keys, uuid::text FROM events
                     WHERE $1::int8 IS NULL OR project_id = $1 ORDER BY timestamp, ctid",
                    &[&project],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect()
            }
        }
    }

    /// Runs a CLI command against this database; returns (exit ok, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(groupd_bin())
            .args(args)
            .env("GROUPD_DATABASE_URL", &self.url)
            .env_remove("GROUPD_LISTEN")
            .output()
            .expect("run groupd");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `groupd project create`, parsed.
    pub fn create_project(&self, name: &str) -> Value {
        let (ok, out, err) = self.cli(&["project", "create", "--name", name]);
        assert!(ok, "project create failed: {err}");
        serde_json::from_str(out.trim()).expect("one JSON line")
    }

    /// `groupd key create`, returning the plaintext key.
    pub fn create_key(&self, label: &str, scopes: &str, projects: &[i64]) -> String {
        let mut args = vec!["key", "create", "--label", label, "--scopes", scopes];
        let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
        for id in &ids {
            args.push("--project");
            args.push(id);
        }
        let (ok, out, err) = self.cli(&args);
        assert!(ok, "key create failed: {err}");
        let v: Value = serde_json::from_str(out.trim()).expect("one JSON line");
        v["key"].as_str().expect("key").to_owned()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            // FORCE: a server of the test may still be connected.
            let _ =
                pg_admin().batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A running server.
pub struct TestServer {
    pub base: String,
    child: Child,
}

impl TestServer {
    /// Starts `groupd serve` on `db` with extra flags.
    pub fn start(db: &TestDb, extra: &[&str]) -> Self {
        Self::start_with_env(db, extra, &[])
    }

    /// Starts `groupd serve` on `db` with extra flags and environment variables.
    pub fn start_with_env(db: &TestDb, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(groupd_bin())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database", &db.url])
            .args(extra)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .env("GROUPD_LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start groupd serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[groupd] {line}");
                }
                if let Some(pos) = line.find("listening on http://") {
                    let addr = line[pos + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("groupd did not report its address");
        Self { base, child }
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit (after a signal), returning its exit code.
    pub fn wait(mut self) -> Option<i32> {
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database, one project (id 1), a `*` key, and a running server.
pub struct TestApp {
    pub db: TestDb,
    pub server: TestServer,
    pub project: Value,
    pub key: String,
    pub client: Client,
}

impl TestApp {
    pub fn spawn() -> Self {
        Self::spawn_with(&[])
    }

    pub fn spawn_with(extra: &[&str]) -> Self {
        Self::assemble(|db| (TestServer::start(db, extra), ())).0
    }

    /// A fresh database with project 1 and a `*` key, and a server `start` runs on it.
    fn assemble<T>(start: impl FnOnce(&TestDb) -> (TestServer, T)) -> (Self, T) {
        let db = TestDb::new();
        let project = db.create_project("Test project");
        let key = db.create_key("ci-key", "*", &[]);
        let (server, extra) = start(&db);
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let app = Self {
            db,
            server,
            project,
            key,
            client,
        };
        (app, extra)
    }

    pub fn project_id(&self) -> i64 {
        self.project["id"].as_i64().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base, path)
    }

    /// `/api/projects/{id}{rest}` for the default project.
    pub fn purl(&self, rest: &str) -> String {
        self.url(&format!("/api/projects/{}{}", self.project_id(), rest))
    }

    /// GET `url` with another key; status and JSON body.
    pub fn get_as(&self, key: &str, url: &str) -> (u16, Value) {
        read(self.client.get(url).bearer_auth(key).send().unwrap())
    }

    pub fn get(&self, url: &str) -> RequestBuilder {
        self.client.get(url).bearer_auth(&self.key)
    }

    pub fn post(&self, url: &str, body: &Value) -> RequestBuilder {
        self.client.post(url).bearer_auth(&self.key).json(body)
    }

    /// Creates a group type by name through REST; returns its index.
    pub fn create_type(&self, name: &str) -> i64 {
        let r = self
            .post(&self.purl("/groups_types/"), &json!({"group_type": name}))
            .send()
            .unwrap();
        let (status, body) = read(r);
        assert_eq!(status, 201, "{body}");
        body["group_type_index"].as_i64().unwrap()
    }

    /// Creates a group through REST.
    pub fn create_group(&self, index: i64, key: &str, props: Value) -> Value {
        let r = self
            .post(
                &self.purl("/groups/"),
                &json!({"group_type_index": index, "group_key": key, "group_properties": props}),
            )
            .send()
            .unwrap();
        let (status, body) = read(r);
        assert_eq!(status, 201, "{body}");
        body
    }
}

/// Status and JSON body (Null when the body is empty or not JSON).
pub fn read(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts the spec's error envelope.
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

/// Stderr lines of a server started with [`TestServer::start_capturing`].
pub type LogLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

impl TestServer {
    /// Like [`TestServer::start`], but keeps every stderr line for the test to inspect.
    pub fn start_capturing(db: &TestDb, extra: &[&str]) -> (Self, LogLines) {
        let mut child = Command::new(groupd_bin())
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database", &db.url])
            .args(extra)
            .env("RUST_LOG", "info")
            .env("GROUPD_LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start groupd serve");
        let stderr = child.stderr.take().expect("stderr");
        let lines: LogLines = Default::default();
        let keep = lines.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(pos) = line.find("listening on http://") {
                    let addr = line[pos + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                keep.lock().unwrap().push(line);
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("groupd did not report its address");
        (Self { base, child }, lines)
    }
}

impl TestApp {
    /// Like [`TestApp::spawn_with`], also returning the server's captured stderr lines.
    pub fn spawn_capturing(extra: &[&str]) -> (Self, LogLines) {
        Self::assemble(|db| TestServer::start_capturing(db, extra))
    }

    /// A request with any method, authenticated with the app's key.
    pub fn request(&self, method: &str, url: &str) -> RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.client.request(method, url).bearer_auth(&self.key)
    }
}

/// Asserts a client error (4xx) in the spec's error envelope: `type`, `code`, `detail` strings and
/// an `attr` that is a string or null.
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
