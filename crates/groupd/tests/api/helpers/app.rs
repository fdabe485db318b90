//! A test's application: a fresh database holding project 1 ("Test project") and a `*` key, and
//! a server on it, in-process (the default) or as a child process.
use std::{ops::Deref, sync::Arc, time::Duration};

use clap::Parser;
use groupd_core::{
    FixedClock, PERSONAL_KEY_PREFIX, ProjectId, ProjectToken, ScopeSet, SecretDigest,
    generate_secret, mask_secret, time_fmt::format_us,
};
use groupd_server::{Application, CommonConfig, ServeConfig};
use groupd_store::{NewApiKey, NewProject, Project, Store, StoreOptions};
use serde_json::{Value, json};
use tokio::{runtime::Runtime, sync::oneshot};

use super::{ApiClient, LogLines, TestDb, TestServer, logs};

/// Where the in-process clock stands unless a test moves it: after every time the tests'
/// events carry, so none of them is in the future.
pub const T0: &str = "2026-06-01T00:00:00Z";
/// [`T0`] in µs since the epoch.
pub const T0_US: i64 = 1_780_272_000_000_000;

/// `groupd serve`'s settings, parsed from its flags exactly as the binary parses them.
#[derive(Parser)]
struct ServeFlags {
    #[command(flatten)]
    common: CommonConfig,
    #[command(flatten)]
    serve: ServeConfig,
}

fn serve_config(db: &TestDb, flags: &[&str]) -> ServeConfig {
    let defaults = db.serve_flags();
    let args = ["groupd", "--listen", "127.0.0.1:0"]
        .into_iter()
        .chain(defaults.iter().map(String::as_str))
        .chain(flags.iter().copied());
    let f =
        ServeFlags::try_parse_from(args).unwrap_or_else(|e| panic!("serve flags {flags:?}: {e}"));
    f.serve.with_common(&f.common)
}

/// The server of one app, stopped when dropped.
enum Server {
    InProcess(InProcess),
    Process(TestServer),
}

/// The app's own runtime, running the router on the real store.
struct InProcess {
    runtime: Option<Runtime>,
    store: Arc<dyn Store>,
    clock: Arc<FixedClock>,
    stop: Option<oneshot::Sender<()>>,
    /// The server's `--data-dir`.
    data_dir: Option<String>,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// A fresh database, project 1, a `*` key, and a running server. Derefs to an [`ApiClient`]
/// with that key and project.
pub struct TestApp {
    // Declared first: the server stops before its database goes.
    server: Server,
    pub db: TestDb,
    /// Project 1 as the API shows it.
    pub project: Value,
    /// The plaintext `*` key.
    pub key: String,
    /// The server's log lines.
    pub logs: LogLines,
    api: ApiClient,
}

impl Deref for TestApp {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

/// A project as the API renders it.
fn project_json(p: &Project) -> Value {
    json!({"id": p.id, "name": p.name, "api_token": p.api_token, "created_at": format_us(p.created_at)})
}

impl TestApp {
    /// In-process, default settings.
    pub fn spawn() -> Self {
        Self::spawn_with(&[])
    }

    /// In-process, with `groupd serve` flags.
    pub fn spawn_with(flags: &[&str]) -> Self {
        let db = TestDb::new();
        let config = serve_config(&db, flags);
        let data_dir = config.data_dir.clone();
        let logs = LogLines::default();
        let attach = logs.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || logs::attach(attach.clone()))
            .build()
            .expect("a runtime");
        let clock = Arc::new(FixedClock::new(T0_US));
        let store = runtime
            .block_on(groupd_store::open(&db.url, &StoreOptions::default()))
            .expect("open the store");
        let project = runtime
            .block_on(store.create_project(
                NewProject {
                    name: "Test project".to_owned(),
                    api_token: None,
                },
                T0_US,
            ))
            .expect("create project 1");
        let app = runtime
            .block_on(Application::build_with(
                config,
                store.clone(),
                clock.clone(),
            ))
            .expect("build the app");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        runtime.spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let server = InProcess {
            runtime: Some(runtime),
            store,
            clock,
            stop: Some(stop),
            data_dir,
        };
        let key = server.new_key("ci-key", "*", &[]);
        Self {
            api: ApiClient::for_server(&base, &key, project.id.0),
            project: project_json(&project),
            key,
            logs,
            db,
            server: Server::InProcess(server),
        }
    }

    /// The real binary as a child process, with `groupd serve` flags and environment variables;
    /// project 1 and the key are made by the CLI before it starts.
    pub fn spawn_process(flags: &[&str], env: &[(&str, &str)]) -> Self {
        let db = TestDb::new();
        let project = db.cli_create_project("Test project");
        let key = db.cli_create_key("ci-key", "*", &[]);
        let server = TestServer::start_with_env(&db, flags, env);
        Self {
            api: ApiClient::for_server(&server.base, &key, project["id"].as_i64().unwrap()),
            logs: server.logs.clone(),
            project,
            key,
            db,
            server: Server::Process(server),
        }
    }

    /// The in-process server's clock (a child process reads the wall clock).
    pub fn clock(&self) -> &FixedClock {
        match &self.server {
            Server::InProcess(s) => &s.clock,
            Server::Process(_) => panic!("a child process runs on the wall clock"),
        }
    }

    /// The in-process server's store, for tests that look behind the API (event segments).
    pub fn store(&self) -> Arc<dyn Store> {
        match &self.server {
            Server::InProcess(s) => Arc::clone(&s.store),
            Server::Process(_) => panic!("a child process has its own store"),
        }
    }

    /// The in-process server's `--data-dir` (`None`: the default).
    pub fn data_dir(&self) -> Option<String> {
        match &self.server {
            Server::InProcess(s) => s.data_dir.clone(),
            Server::Process(_) => panic!("spawned as a process"),
        }
    }

    /// Runs `f` on the in-process server's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        match &self.server {
            Server::InProcess(s) => s.block_on(f),
            Server::Process(_) => panic!("spawned as a process"),
        }
    }

    /// The child process and the database, for tests that signal, kill or restart it.
    pub fn into_process(self) -> (TestServer, TestDb) {
        match self.server {
            Server::Process(p) => (p, self.db),
            Server::InProcess(_) => panic!("spawned in-process"),
        }
    }

    /// Project 1's public token.
    pub fn token(&self) -> String {
        self.project["api_token"].as_str().unwrap().to_owned()
    }

    /// Another project, as the API shows it (through the store in-process, else the CLI).
    pub fn new_project(&self, name: &str) -> Value {
        match &self.server {
            Server::InProcess(s) => s.new_project(name, None),
            Server::Process(_) => self.db.cli_create_project(name),
        }
    }

    /// Another project with the public token `token` (in-process only).
    pub fn new_project_with_token(&self, name: &str, token: &str) -> Value {
        match &self.server {
            Server::InProcess(s) => s.new_project(name, Some(token)),
            Server::Process(_) => panic!("spawned as a process: use the CLI"),
        }
    }

    /// Another key with `scopes`, limited to `projects` unless empty; its plaintext.
    pub fn new_key(&self, label: &str, scopes: &str, projects: &[i64]) -> String {
        match &self.server {
            Server::InProcess(s) => s.new_key(label, scopes, projects),
            Server::Process(_) => self.db.cli_create_key(label, scopes, projects),
        }
    }

    /// Creates a group type through REST, asserting a 201; its index.
    pub fn new_type(&self, name: &str) -> i64 {
        let (status, body) = self.create_type(&json!({"group_type": name}));
        assert_eq!(status, 201, "{body}");
        body["group_type_index"].as_i64().unwrap()
    }

    /// Creates a group through REST, asserting a 201; the group.
    pub fn new_group(&self, index: i64, key: &str, props: Value) -> Value {
        let (status, body) = self.create_group(
            &json!({"group_type_index": index, "group_key": key, "group_properties": props}),
        );
        assert_eq!(status, 201, "{body}");
        body
    }
}

impl InProcess {
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.as_ref().expect("running").block_on(f)
    }

    fn clock_now(&self) -> i64 {
        use groupd_core::Clock;
        self.clock.now_us()
    }

    fn new_project(&self, name: &str, token: Option<&str>) -> Value {
        let new = NewProject {
            name: name.to_owned(),
            api_token: token.map(|t| ProjectToken::parse(t).expect("a valid project token")),
        };
        let p = self.block_on(self.store.create_project(new, self.clock_now()));
        project_json(&p.expect("create a project"))
    }

    fn new_key(&self, label: &str, scopes: &str, projects: &[i64]) -> String {
        let plaintext = generate_secret(PERSONAL_KEY_PREFIX);
        let key = NewApiKey {
            label: label.to_owned(),
            digest: SecretDigest::of(&plaintext),
            scopes: ScopeSet::parse_list(scopes).expect("valid scopes"),
            projects: (!projects.is_empty())
                .then(|| projects.iter().copied().map(ProjectId).collect()),
            mask_value: mask_secret(&plaintext),
        };
        self.block_on(self.store.create_api_key(key, self.clock_now()))
            .expect("create a key");
        plaintext
    }
}
