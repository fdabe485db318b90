//! A real headless Chromium driven through chromedriver (WebDriver) by fantoccini, against an
//! in-process groupd ([`TestApp`]). Each test starts its own chromedriver on a free port; a test
//! that fails saves a screenshot of the page into `target/ui-screenshots/`. Without chromedriver
//! the tests skip, saying so.
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::helpers::TestApp;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a wait lasts before the test fails: long, because a passing test never spends it
/// and a machine busy building (two cores, several builders) can take seconds per page.
const WAIT: Duration = Duration::from_secs(20);
const CHROMIUM: &str = "/usr/bin/chromium";

/// Flags from notes/ui-stack.md: headless, no sandbox (root), nothing in the background that
/// would reach the network.
const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1280,900",
];

/// The path of chromedriver, or `None` (the caller skips) with a message.
fn driver_path() -> Option<&'static str> {
    if Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists() {
        Some(CHROMEDRIVER)
    } else {
        eprintln!(
            "SKIPPED: {CHROMEDRIVER} or {CHROMIUM} is absent (apt-get install chromium chromium-driver)"
        );
        None
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One browser on one app.
pub struct Ui {
    pub app: TestApp,
    pub rt: Runtime,
    pub c: Client,
    driver: Child,
    name: String,
}

impl Ui {
    /// A browser (JavaScript on) on a fresh app; `None` when chromedriver is absent.
    pub fn start(name: &str) -> Option<Self> {
        Self::start_with(name, TestApp::spawn(), true)
    }

    /// A browser on `app`, with JavaScript on or off.
    pub fn start_with(name: &str, app: TestApp, javascript: bool) -> Option<Self> {
        let path = driver_path()?;
        let port = free_port();
        let driver = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut options = json!({"binary": CHROMIUM, "args": FLAGS});
        if !javascript {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let c = rt.block_on(async {
            let mut last = None;
            for _ in 0..100 {
                let conn = hyper_util::client::legacy::connect::HttpConnector::new();
                match ClientBuilder::new(conn)
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await
                {
                    Ok(c) => return c,
                    Err(e) => last = Some(e),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("chromedriver did not start: {last:?}");
        });
        Some(Self {
            app,
            rt,
            c,
            driver,
            name: name.to_owned(),
        })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    pub fn goto(&self, path: &str) {
        self.rt
            .block_on(self.c.goto(&self.url(path)))
            .expect("goto");
    }

    /// The element `css` matches, waiting up to [`WAIT`] for it.
    pub fn el(&self, css: &str) -> Element {
        self.rt
            .block_on(self.c.wait().at_most(WAIT).for_element(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Every element `css` matches now.
    pub fn all(&self, css: &str) -> Vec<Element> {
        self.rt
            .block_on(self.c.find_all(Locator::Css(css)))
            .expect("find_all")
    }

    pub fn text(&self, css: &str) -> String {
        let e = self.el(css);
        self.rt.block_on(e.text()).expect("text")
    }

    /// The text of the element `css` matches now; `None` when there is none, or when it went
    /// stale between the find and the read (htmx swapped the page), so a wait polls again.
    pub fn text_now(&self, css: &str) -> Option<String> {
        self.rt.block_on(async {
            let e = self.c.find(Locator::Css(css)).await.ok()?;
            e.text().await.ok()
        })
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.el(css);
        self.rt.block_on(e.send_keys(text)).expect("send_keys");
    }

    pub fn clear(&self, css: &str) {
        let e = self.el(css);
        self.rt.block_on(e.clear()).expect("clear");
    }

    pub fn click(&self, css: &str) {
        let e = self.el(css);
        self.rt.block_on(e.click()).expect("click");
    }

    /// Runs `script` in the page; its value.
    pub fn js(&self, script: &str) -> Value {
        self.rt
            .block_on(self.c.execute(script, vec![]))
            .expect("execute")
    }

    pub fn current_path(&self) -> String {
        let u = self.rt.block_on(self.c.current_url()).expect("url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    /// Waits (up to [`WAIT`]) until `cond` holds, polling every 50 ms.
    pub fn until(&self, what: &str, mut cond: impl FnMut(&Self) -> bool) {
        let start = std::time::Instant::now();
        while start.elapsed() < WAIT {
            if cond(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out after {WAIT:?} waiting for {what}");
    }

    /// How many elements `css` matches now.
    pub fn count(&self, css: &str) -> usize {
        self.all(css).len()
    }

    /// Signs in with `key` through the form; lands on the first project.
    pub fn sign_in(&self, key: &str) {
        self.goto("/");
        self.type_into("[data-testid=api-key]", key);
        self.click("[data-testid=sign-in]");
        self.until("the signed-in page", |u| {
            u.current_path().starts_with("/ui/projects/")
        });
    }

    /// Saves a screenshot of the page to `path`.
    pub fn screenshot(&self, path: &Path) {
        if let Ok(png) = self.rt.block_on(self.c.screenshot()) {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(path, png);
        }
    }
}

/// `target/ui-screenshots/` (the test runs as `target/debug/deps/ui-…`).
fn screenshot_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("ui-screenshots")
}

impl Drop for Ui {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let path = screenshot_dir().join(format!("{}.png", self.name));
            self.screenshot(&path);
            eprintln!("screenshot of the failed page: {}", path.display());
        }
        let c = self.c.clone();
        let _ = self.rt.block_on(c.close());
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
