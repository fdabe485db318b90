//! The accept loop: every connection bounded in time and number, so slow or idle clients cannot
//! exhaust memory or file descriptors, and a graceful stop that finishes in-flight requests.
//!
//! - Headers must arrive within `header_timeout` of their first byte, and a keep-alive connection
//!   with no request in flight is closed after `idle_timeout` ([`watch`]: hyper's own header timer
//!   cannot tell the two apart, since it also runs while a connection waits for its next request).
//! - At most `max_connections` are open; past that the loop stops accepting and new clients wait
//!   in the kernel's backlog. The cap is lowered to what the process's file-descriptor limit can
//!   hold, so reaching it never makes `accept` fail.
mod watch;

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use axum::{Router, body::Body};
use hyper::{Request, body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

use watch::{Activity, Watched};

/// Descriptors kept for everything but client connections (database, log, files).
const RESERVED_FDS: u64 = 64;

/// How many connections may be open at once.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Most open client connections.
    pub max_connections: usize,
    /// Longest wait for a request's headers, from their first byte.
    pub header_timeout: Duration,
    /// How long a connection with no request in flight stays open.
    pub idle_timeout: Duration,
}

/// `max` lowered to what the soft `RLIMIT_NOFILE` leaves for clients.
fn connection_cap(max: usize) -> usize {
    let fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_owned))
        })
        .and_then(|soft| soft.parse::<u64>().ok());
    match fds {
        Some(fds) => max.min(fds.saturating_sub(RESERVED_FDS).max(1) as usize),
        None => max,
    }
}

/// Serves `app` on `listener` until `stop` completes, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = connection_cap(limits.max_connections);
    if cap < limits.max_connections {
        tracing::info!(
            max_connections = cap,
            "connections capped by the open-files limit"
        );
    }
    let permits = Arc::new(Semaphore::new(cap));
    // HTTP/1 only: sniffing for an HTTP/2 preface would wait for a first byte with no time limit,
    // so a client that connects and sends nothing would hold its connection forever. (HTTP/2
    // reaches groupd through a TLS-terminating proxy, which speaks HTTP/1.1 to it.)
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().header_read_timeout(None);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let app = app.clone();
        let act = activity.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let busy = act.begin();
            let app = app.clone();
            async move {
                let response = app.oneshot(req).await?;
                // In flight until hyper has written the whole body (a stream may run for hours).
                Ok::<_, Infallible>(response.map(|b| Body::new(busy.guard(b))))
            }
        });
        let io = TokioIo::new(Watched::new(stream, activity.clone()));
        let conn = builder.serve_connection(io, service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            tokio::select! {
                _ = conn => {}
                // Dropping the connection closes it.
                () = activity.expired(limits.header_timeout, limits.idle_timeout) => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
