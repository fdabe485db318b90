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

/// `socat` terminating TLS for `localhost:PORT` in front of `backend` (`127.0.0.1:port`), as a
/// reverse proxy does in front of PostHog; killed when dropped.
struct TlsProxy {
    child: std::process::Child,
    port: u16,
}

impl TlsProxy {
    fn start(certs: &std::path::Path, backend: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let backend = backend.trim_start_matches("http://");
        let cert = certs.join("server.crt").display().to_string();
        let key = certs.join("server.key").display().to_string();
        let child = std::process::Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={cert},key={key},verify=0"
            ))
            .arg(format!("TCP:{backend}"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("socat runs (apt-get install socat; .ci/run does)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "socat did not listen");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn import_from_posthog_works_over_https_with_the_machines_roots() {
    let source = TestApp::spawn();
    source.new_type("company");
    for i in 0..120 {
        source.new_group(0, &format!("c{i:03}"), json!({"i": i}));
    }
    let certs = tempfile::tempdir().unwrap();
    test_certificates(certs.path());
    let proxy = TlsProxy::start(certs.path(), &source.base);
    // The certificate names `localhost`, so that is the host to give.
    let url = format!("https://localhost:{}", proxy.port);

    let target = TestDb::new();
    let project = target.cli_create_project("migrated")["id"].to_string();
    let import = |roots: &str| {
        let out = std::process::Command::new(groupd_bin())
            .args(["import", "--project", &project, "--from-posthog", &url])
            .args(["--personal-api-key", &source.key, "--posthog-project", "1"])
            .env("GROUPD_DATABASE_URL", &target.url)
            .env("SSL_CERT_FILE", roots)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A certificate the roots do not vouch for is refused, and says why.
    let other = certs.path().join("other-ca.pem").display().to_string();
    let (code, out, err) = import(&other);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("certificate"), "{err}");
    assert_eq!(target.cli(&["export", "--project", &project]).1, "");
    // With the test CA as the machine's roots (`SSL_CERT_FILE`), every page comes over TLS.
    let ca = certs.path().join("ca.pem").display().to_string();
    let (code, out, err) = import(&ca);
    assert_eq!(code, Some(0), "{err}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        answer,
        json!({"imported": 120, "failed": [], "dry_run": false})
    );
    let (ok, exported, err) = target.cli(&["export", "--project", &project]);
    assert!(ok, "{err}");
    assert_eq!(exported.lines().count(), 120);
}

#[test]
fn import_from_posthog_refuses_a_url_that_is_not_http_or_https() {
    let target = TestDb::new();
    for url in [
        "ftp://eu.posthog.com",
        "eu.posthog.com",
        "https://",
        "https://x.io/?a=1",
        "not a url",
    ] {
        let (code, out, err) = target.cli_exit(&[
            "import",
            "--project",
            "1",
            "--from-posthog",
            url,
            "--personal-api-key",
            "phx_x",
        ]);
        assert_eq!(code, Some(2), "{url}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("--from-posthog"), "{url}: {err}");
    }
}
