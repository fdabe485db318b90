//! Open-loop HTTP/1.1 load generator (wrk2-style). Requests leave on a fixed schedule. A request
//! whose connection was still waiting for the server at its scheduled time is timed from that
//! time, so a server that stalls shows up as latency instead of quietly lowering the offered load
//! (coordinated omission); one whose connection was free is timed from its actual send, so the
//! generator's own timer jitter (1-2 ms at p99 on a shared VM) is not charged to the server.
//! `--rate 0` runs closed loop.

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::{Instant, sleep, timeout_at};

type BoxError = Box<dyn Error + Send + Sync>;
type Conn = SendRequest<Full<Bytes>>;

/// How long responses in flight at the end may take before they count as errors.
const DRAIN: Duration = Duration::from_secs(5);
/// How long the first connection is retried, so a server that is still starting is waited for.
const STARTUP: Duration = Duration::from_secs(5);

#[derive(Parser)]
#[command(about = "Fixed-rate HTTP/1.1 load generator, latency corrected for coordinated omission")]
struct Args {
    /// Server base URL, e.g. http://127.0.0.1:8000
    #[arg(long)]
    url: String,
    // The help text cannot spell the placeholder: clap turns `{n}` into a newline.
    /// Request path; each "n" in braces becomes a random integer in [0, --n) formatted as %07d.
    #[arg(long)]
    path: String,
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    n: u64,
    #[arg(long, default_value = "GET")]
    method: String,
    /// Extra request header "Name: value" (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// File sent as the request body.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Content-Type sent with --body-file (unless a --header sets one).
    #[arg(long, default_value = "application/json")]
    content_type: String,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    connections: u64,
    /// Total requests per second over all connections; 0 = closed loop.
    #[arg(long)]
    rate: f64,
    /// Measured seconds (after the warmup).
    #[arg(long)]
    duration: f64,
    /// Seconds of load sent first and not recorded.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    threads: u64,
}

/// What every request looks like; shared by the connections.
struct Target {
    addr: String,
    authority: HeaderValue,
    method: Method,
    path: String,
    n: u64,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Target {
    fn new(a: &Args) -> Result<Target, BoxError> {
        let uri: Uri = a.url.parse().map_err(|e| format!("--url: {e}"))?;
        let auth = uri.authority().ok_or("--url needs a host")?;
        if uri.scheme_str() != Some("http") || !matches!(uri.path(), "" | "/") {
            return Err("--url must be http://host[:port] (no https, no path)".into());
        }
        if !a.path.starts_with('/') {
            return Err("--path must start with /".into());
        }
        let mut headers = Vec::new();
        for h in &a.headers {
            let (name, value) = h.split_once(':').ok_or("--header must be 'Name: value'")?;
            headers.push((
                HeaderName::from_bytes(name.trim().as_bytes())?,
                value.trim().parse()?,
            ));
        }
        let body = match &a.body_file {
            Some(f) => std::fs::read(f)
                .map_err(|e| format!("{}: {e}", f.display()))?
                .into(),
            None => Bytes::new(),
        };
        if a.body_file.is_some() && !headers.iter().any(|(k, _)| k == CONTENT_TYPE) {
            headers.push((CONTENT_TYPE, a.content_type.parse()?));
        }
        let target = Target {
            addr: format!("{}:{}", auth.host(), auth.port_u16().unwrap_or(80)),
            authority: auth.as_str().parse()?,
            method: Method::from_bytes(a.method.as_bytes())?,
            path: a.path.clone(),
            n: a.n,
            headers,
            body,
        };
        target.request()?; // reject a bad path now rather than as an error per request
        Ok(target)
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
        let mut req = Request::builder()
            .method(self.method.clone())
            .uri(render(&self.path, fastrand::u64(..self.n)))
            .header(HOST, self.authority.clone());
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        req.body(Full::new(self.body.clone()))
    }
}

fn render(template: &str, n: u64) -> String {
    template.replace("{n}", &format!("{n:07}"))
}

/// Nearest-rank percentile of sorted samples (0 when there are none).
fn percentile(sorted: &[u32], p: f64) -> u32 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or(0)
}

async fn connect(addr: &str) -> Result<Conn, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (tx, conn) = http1::handshake(TokioIo::new(stream)).await?;
    // Drives the socket; ends once `tx` is dropped or the connection fails.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(tx)
}

/// One request on `conn`, reconnecting first if it failed before or the server closed it.
async fn exchange(conn: &mut Option<Conn>, target: &Target) -> Result<StatusCode, BoxError> {
    let tx = match conn.take() {
        Some(tx) if !tx.is_closed() => tx,
        _ => connect(&target.addr).await?,
    };
    let tx = conn.insert(tx);
    tx.ready().await?;
    let resp = tx.send_request(target.request()?).await?;
    let status = resp.status();
    resp.into_body().collect().await?; // latency includes the whole body
    Ok(status)
}

/// Hands connection `i % C` the instant t0 + i/R at which its next request is due. A plain thread
/// because tokio's timer rounds deadlines up to the next millisecond, which alone added ~1 ms of
/// phantom latency to every request; `thread::sleep` is accurate to ~0.1 ms on Linux.
fn pace(txs: Vec<UnboundedSender<Instant>>, t0: Instant, span: f64, rate: f64) {
    for i in 0u64.. {
        let offset = i as f64 / rate;
        if offset >= span {
            break; // dropping `txs` tells the connections the schedule is over
        }
        let at = t0 + Duration::from_secs_f64(offset);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let _ = txs[(i % txs.len() as u64) as usize].send(at); // fails only if that task gave up
    }
}

#[derive(Default)]
struct Stats {
    lat_us: Vec<u32>,
    errors: u64,
    non2xx: u64,
    late: u64,
    behind: u64,
    last_done: Option<Instant>,
}

/// One connection's requests: when `schedule` is given (open loop) each one at the instant it
/// hands out, else (closed loop) back to back. `measure` and `end` bound the recorded window.
async fn drive(
    mut conn: Option<Conn>,
    mut schedule: Option<UnboundedReceiver<Instant>>,
    target: Arc<Target>,
    (measure, end): (Instant, Instant),
) -> Stats {
    let mut st = Stats::default();
    let mut prev_done: Option<Instant> = None;
    loop {
        let due = match &mut schedule {
            // Queued instants pile up while this connection is behind: it then sends at once.
            Some(rx) => match rx.recv().await {
                Some(at) => Some(at),
                None => break,
            },
            None => None,
        };
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let sched = due.unwrap_or(sent);
        let res = timeout_at(end + DRAIN, exchange(&mut conn, &target)).await;
        let done = Instant::now();
        // Errors count during warmup too: they mean the numbers are suspect either way.
        let status = match res {
            Ok(Ok(status)) => status,
            Ok(Err(_)) => {
                st.errors += 1;
                conn = None;
                sleep(Duration::from_millis(10)).await; // don't spin against a dead server
                continue;
            }
            Err(_) => {
                st.errors += 1; // still unanswered well after the end: give up
                break;
            }
        };
        if sched < measure {
            prev_done = Some(done);
            continue;
        }
        // Busy at its scheduled time: the server made it wait, count from the schedule. Free:
        // any delay is the pacer's, count from the send.
        let waited_for_server = prev_done.is_some_and(|p| p > sched);
        prev_done = Some(done);
        let start = if waited_for_server { sched } else { sent };
        let us = done.duration_since(start).as_micros();
        st.lat_us.push(us.min(u32::MAX as u128) as u32);
        st.non2xx += u64::from(!status.is_success());
        st.late += u64::from(sent.duration_since(sched) > Duration::from_millis(1));
        st.behind += u64::from(waited_for_server);
        st.last_done = Some(done);
    }
    st
}

async fn run(a: Args) -> Result<(), BoxError> {
    let finite = |x: f64, min: f64| x.is_finite() && x >= min && x < 1e9;
    if !finite(a.rate, 0.0) || !finite(a.warmup, 0.0) || !finite(a.duration, 1e-3) {
        return Err("--rate and --warmup must be >= 0, --duration > 0".into());
    }
    let target = Arc::new(Target::new(&a)?);
    let give_up = Instant::now() + STARTUP;
    let first = loop {
        match connect(&target.addr).await {
            Ok(c) => break c,
            Err(_) if Instant::now() < give_up => sleep(Duration::from_millis(100)).await,
            Err(e) => return Err(format!("cannot connect to {}: {e}", target.addr).into()),
        }
    };
    // Connect everything before t0 so the handshakes don't make the first requests late.
    let mut conns = vec![Some(first)];
    for _ in 1..a.connections {
        conns.push(connect(&target.addr).await.ok()); // failures reconnect (and count) in drive
    }
    let t0 = Instant::now();
    let measure = t0 + Duration::from_secs_f64(a.warmup);
    let end = measure + Duration::from_secs_f64(a.duration);
    let (window, mut tasks, mut txs) = ((measure, end), Vec::new(), Vec::new());
    for conn in conns {
        let rx = (a.rate > 0.0).then(|| {
            let (tx, rx) = unbounded_channel();
            txs.push(tx);
            rx
        });
        tasks.push(tokio::spawn(drive(conn, rx, target.clone(), window)));
    }
    if a.rate > 0.0 {
        let (span, rate) = (a.warmup + a.duration, a.rate);
        std::thread::spawn(move || pace(txs, t0, span, rate));
    }
    let (mut lat, mut errors, mut non2xx, mut late, mut behind, mut last) =
        (Vec::new(), 0, 0, 0, 0, end);
    for t in tasks {
        let st = t.await?;
        lat.extend(st.lat_us);
        (errors, non2xx) = (errors + st.errors, non2xx + st.non2xx);
        (late, behind) = (late + st.late, behind + st.behind);
        last = last.max(st.last_done.unwrap_or(end));
    }
    lat.sort_unstable();
    // The window runs until the last recorded response, so a slow drain lowers rps. Past
    // saturation rps also undercounts throughput: the warmup's backlog is served but not counted.
    let seconds = last.duration_since(measure).as_secs_f64();
    let ms = |p: f64| f64::from(percentile(&lat, p)) / 1000.0;
    let out = serde_json::json!({
        "requests": lat.len(), "seconds": (seconds * 1000.0).round() / 1000.0,
        "rps": (lat.len() as f64 / seconds * 10.0).round() / 10.0, "target_rate": a.rate,
        "errors": errors, "non2xx": non2xx, "late": late, "behind": behind,
        "p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99), "p999_ms": ms(0.999),
        "max_ms": ms(1.0),
    });
    println!("{out}");
    Ok(())
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build();
    if let Err(e) = rt
        .map_err(BoxError::from)
        .and_then(|rt| rt.block_on(run(args)))
    {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_pads_every_placeholder() {
        assert_eq!(render("/g?k=g{n}&o={n}", 42), "/g?k=g0000042&o=0000042");
        assert_eq!(render("/g?k=g{n}", 12_345_678), "/g?k=g12345678");
        assert_eq!(render("/_health", 7), "/_health");
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&v, 0.5), 500);
        assert_eq!(percentile(&v, 0.99), 990);
        assert_eq!(percentile(&v, 0.999), 999);
        assert_eq!(percentile(&v, 1.0), 1000);
        assert_eq!(percentile(&v, 0.0), 1);
        assert_eq!(percentile(&[7], 0.5), 7);
        assert_eq!(percentile(&[], 0.99), 0);
    }
}
