//! TLS to PostgreSQL (`operations.md`, database URLs): a private cluster with `ssl = on` that
//! refuses plain connections, a certificate for `localhost` signed by a test CA, and libpq's
//! `sslmode`/`sslrootcert` as hosted services use them.
use std::{path::Path, process::Command};

use crate::helpers::*;

fn tls_cluster(certs: &Path) -> Option<PrivatePg> {
    PrivatePg::start_with(|data| {
        for f in ["server.crt", "server.key"] {
            std::fs::copy(certs.join(f), data.join(f)).unwrap();
        }
        run(Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key")));
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        // TCP only with TLS: a client that does not encrypt is refused.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
    })
}

/// `groupd project list` on `url`: (exit code, stderr).
fn project_list(url: &str) -> (Option<i32>, String) {
    let (code, _, err) = TestDb::at(url).cli_exit(&["project", "list"]);
    (code, err)
}

#[test]
fn tls_to_postgresql_follows_libpq_sslmode_and_sslrootcert() {
    let certs = tempfile::tempdir().unwrap();
    test_certificates(certs.path());
    let Some(pg) = tls_cluster(certs.path()) else {
        return;
    };
    let port = pg
        .url("x")
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let ca = certs.path().join("ca.pem");
    let other = certs.path().join("other-ca.pem");
    let (ca, other) = (ca.to_str().unwrap(), other.to_str().unwrap());
    let url =
        |host: &str, params: &str| format!("postgres://postgres@{host}:{port}/groupd_tls?{params}");

    // Encrypted without authenticating the server, as libpq's require and prefer (the default).
    for params in ["sslmode=require", "sslmode=prefer", ""] {
        let (code, err) = project_list(&url("127.0.0.1", params));
        assert_eq!(code, Some(0), "{params}: {err}");
    }
    // The server refuses a client that does not encrypt.
    let (code, err) = project_list(&url("127.0.0.1", "sslmode=disable"));
    assert_ne!(code, Some(0));
    assert!(
        err.contains("no encryption") || err.contains("pg_hba"),
        "{err}"
    );

    // verify-full: the chain and the name; verify-ca: the chain only.
    let (code, err) = project_list(&url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert_eq!(code, Some(0), "verify-full on localhost: {err}");
    let (code, err) = project_list(&url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ));
    assert_ne!(
        code,
        Some(0),
        "verify-full must refuse a certificate for another name"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    let (code, err) = project_list(&url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    ));
    assert_eq!(code, Some(0), "verify-ca ignores the name: {err}");
    // require with a root file verifies the chain, as libpq does.
    for params in [
        format!("sslmode=verify-ca&sslrootcert={other}"),
        format!("sslmode=require&sslrootcert={other}"),
    ] {
        let (code, err) = project_list(&url("127.0.0.1", &params));
        assert_ne!(code, Some(0), "{params} must refuse a chain to another CA");
        assert!(
            err.to_lowercase().contains("certificate"),
            "{params}: {err}"
        );
    }
    let (code, err) = project_list(&url("127.0.0.1", "sslmode=sometimes"));
    assert_ne!(code, Some(0));
    assert!(err.contains("sslmode 'sometimes'"), "{err}");

    // And a server runs over it.
    let db = TestDb::at(&url("127.0.0.1", "sslmode=require"));
    let server = TestServer::start(&db, &[]);
    let health = reqwest::blocking::get(format!("{}/_health", server.base)).unwrap();
    assert_eq!(health.status(), 200);
}
