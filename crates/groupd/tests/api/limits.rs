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

/// Peak resident memory of a process (VmHWM), in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A small gzip body that inflates far past the limit is refused once the limit is reached:
/// inflating is a stream, so memory grows by about the limit, not by what the body would make
/// (issue: 9.8 KB inflating to 5M zeros took 2 GB).
#[test]
fn a_gzip_bomb_is_refused_at_the_limit_without_inflating_it_all() {
    use flate2::{Compression, write::GzEncoder};
    let db = TestDb::new();
    let server = TestServer::start(&db, &["--max-decompressed-bytes", "8000000"]);
    let project = db.cli_create_project("bomb");
    let token = project["api_token"].as_str().unwrap();
    // 512 MB of one JSON string once inflated: ~0.5 MB on the wire.
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(
        format!(r#"{{"api_key":"{token}","event":"e","distinct_id":"d","properties":{{"x":""#)
            .as_bytes(),
    )
    .unwrap();
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..512 {
        gz.write_all(&zeros).unwrap();
    }
    gz.write_all(br#""}}"#).unwrap();
    let body = gz.finish().unwrap();
    assert!(body.len() < 2_000_000, "{} bytes", body.len());
    let before = peak_rss_mb(server.pid());
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(format!("{}/e/", server.base))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 413, "{:?}", r.text());
    let grew = peak_rss_mb(server.pid()) - before;
    eprintln!("peak RSS grew by {grew:.1} MB");
    assert!(
        grew < 80.0,
        "peak RSS grew by {grew:.0} MB for an 8 MB decompression limit"
    );
    // The server is fine afterwards.
    let health = client
        .get(format!("{}/_health", server.base))
        .send()
        .unwrap();
    assert_eq!(health.status(), 200);
}
