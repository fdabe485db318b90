//! Slow and idle clients: headers must come within the header timeout of their first byte, an
//! idle keep-alive connection is closed after the idle timeout, and at the open-files limit new
//! clients are still served once others go (the connection cap keeps `accept` from failing).
use std::{
    io::{Read, Write},
    net::TcpStream,
    process::Command,
    time::{Duration, Instant},
};

use crate::helpers::*;

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Seconds until the server closes `s` (reads until EOF or a reset), at most `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) if t.elapsed() < limit => return Some(t.elapsed()),
            Ok(_) => continue,
            _ => return None,
        }
    }
}

#[test]
fn headers_that_never_finish_and_idle_connections_are_closed() {
    let db = TestDb::new();
    let server = TestServer::start(
        &db,
        &["--header-timeout-secs", "1", "--idle-timeout-secs", "3"],
    );
    let mut slow = TcpStream::connect(addr(&server)).unwrap();
    slow.write_all(b"GET /_health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let took = closed_within(&mut slow, Duration::from_secs(5)).expect("slowloris kept open");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "headers not finished in 1 s must be cut at 1 s: {took:?}"
    );

    // An idle keep-alive connection outlives the header timeout and is closed at the idle one;
    // a connection that never sends a request is closed at the header timeout.
    let mut idle = TcpStream::connect(addr(&server)).unwrap();
    let silent = TcpStream::connect(addr(&server)).unwrap();
    idle.write_all(b"GET /_health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let t = Instant::now();
    let took = closed_within(&mut idle, Duration::from_secs(6)).expect("idle connection kept open");
    assert!(
        took >= Duration::from_millis(2500),
        "an idle connection was closed before the idle timeout: {took:?}"
    );
    let mut silent = silent;
    let left = Duration::from_secs(6).saturating_sub(t.elapsed());
    assert!(closed_within(&mut silent, left + Duration::from_secs(1)).is_some());
}

#[test]
fn at_the_open_files_limit_new_clients_are_served_once_idle_ones_go() {
    let db = TestDb::new();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"ulimit -n 128 && exec "$0" serve --listen 127.0.0.1:0 --database "$1" --header-timeout-secs 2"#)
        .arg(groupd_bin())
        .arg(&db.url);
    let server = TestServer::start_command(cmd);
    let capped = || {
        server
            .logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("connections capped by the open-files limit"))
    };
    let t = Instant::now();
    while !capped() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the cap follows the limit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Far more idle connections than descriptors: the cap holds the rest in the backlog.
    let idle: Vec<TcpStream> = (0..150)
        .map(|_| TcpStream::connect(addr(&server)).unwrap())
        .collect();
    let t = Instant::now();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let r = client.get(format!("{}/_health", server.base)).send();
    let status = r.map(|r| r.status().as_u16()).unwrap_or(0);
    assert_eq!(
        status,
        200,
        "a new client was not served after {:?}",
        t.elapsed()
    );
    assert!(
        !server
            .logs
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("accept failed"))
    );
    drop(idle);
}
