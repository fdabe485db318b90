//! One fresh database per test, on the target's backend, read directly only where a test must
//! see what is stored; and the CLI run against it.
use std::{path::PathBuf, process::Command};

use serde_json::Value;

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
    /// Dropped with this value (a database on the shared server); `false` for one elsewhere.
    owned: bool,
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
                    owned: true,
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
                    // For the event segments (never the working directory's default).
                    _dir: Some(tempfile::tempdir().expect("temp dir")),
                    pg_name: Some(name),
                    owned: true,
                }
            }
        }
    }

    /// A database somewhere else (a private PostgreSQL cluster, a SQLite file on a small
    /// filesystem), which the test cleans up itself.
    // Only the `api` target runs the fault tests that need it.
    #[allow(dead_code)]
    pub fn at(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            // A PostgreSQL database's servers keep their segments here (see `data_dir`).
            _dir: Some(tempfile::tempdir().expect("temp dir")),
            pg_name: url
                .starts_with("postgres")
                .then(|| url.rsplit('/').next().unwrap_or_default().to_owned()),
            owned: false,
        }
    }

    /// The `--data-dir` servers on this database get: `None` on SQLite (the default, next to
    /// the file), a directory of the test's own on PostgreSQL.
    pub fn data_dir(&self) -> Option<String> {
        self.pg_name.as_ref()?;
        let dir = self._dir.as_ref()?.path().join("segments");
        Some(dir.display().to_string())
    }

    /// The flags every server of the tests gets first (a test's own flags come after them and
    /// win): compaction off unless a test asks, and the data dir.
    pub fn serve_flags(&self) -> Vec<String> {
        let mut flags = vec!["--compaction-interval-secs".to_owned(), "0".to_owned()];
        if let Some(d) = self.data_dir() {
            flags.extend(["--data-dir".to_owned(), d]);
        }
        flags
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

    /// Runs `sql` on the database behind the server's back (to break it on purpose).
    pub fn execute(&self, sql: &str) {
        match &self.pg_name {
            None => {
                let path = self.url.strip_prefix("sqlite://").unwrap();
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap();
            }
            Some(_) => postgres::Client::connect(&self.url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
        }
    }

    /// Runs a CLI command against this database; returns (exit ok, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let (code, out, err) = self.cli_exit(args);
        (code == Some(0), out, err)
    }

    /// Runs a CLI command against this database; returns (exit code, stdout, stderr).
    pub fn cli_exit(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = Command::new(groupd_bin())
            .args(args)
            .env("GROUPD_DATABASE_URL", &self.url)
            .env_remove("GROUPD_LISTEN")
            .output()
            .expect("run groupd");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `groupd project create`, parsed.
    pub fn cli_create_project(&self, name: &str) -> Value {
        let (ok, out, err) = self.cli(&["project", "create", "--name", name]);
        assert!(ok, "project create failed: {err}");
        serde_json::from_str(out.trim()).expect("one JSON line")
    }

    /// `groupd key create`, returning the plaintext key.
    pub fn cli_create_key(&self, label: &str, scopes: &str, projects: &[i64]) -> String {
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
        if let Some(name) = self.pg_name.as_ref().filter(|_| self.owned) {
            // FORCE: a server of the test may still be connected.
            let _ =
                pg_admin().batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
