//! What one connection is doing, for its two deadlines: a request's headers within the header
//! timeout of their first byte, and no more than the idle timeout with nothing in flight.
//!
//! The socket ([`Watched`]) notes the first byte read while nothing is in flight; the service
//! marks a request in flight from its call until hyper drops the response body ([`Busy`]), so a
//! long response stream is never cut as idle.
use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::body::Body;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `pending_since` when no request has begun arriving.
const NONE: u64 = u64::MAX;

/// A connection's state, shared by its socket, its service and its watchdog. Times are
/// milliseconds since `start`.
pub(super) struct Activity {
    start: Instant,
    /// Requests between their call and the drop of their response body.
    in_flight: AtomicU64,
    /// When the last request finished (or the connection opened).
    idle_since: AtomicU64,
    /// When the first byte of a request not yet dispatched arrived (the connect, for the first
    /// request), or [`NONE`].
    pending_since: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            in_flight: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            // A new connection waits for its first request's headers: the header timeout runs
            // from the connect, as hyper's does.
            pending_since: AtomicU64::new(0),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// A request reached the service: its headers are in.
    pub(super) fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.pending_since.store(NONE, Ordering::SeqCst);
        Busy(self.clone())
    }

    fn read_bytes(&self) {
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            let now = self.now();
            let _ =
                self.pending_since
                    .compare_exchange(NONE, now, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// Completes when the connection has outstayed a deadline; never while a request is in flight.
    pub(super) async fn expired(&self, header_timeout: Duration, idle_timeout: Duration) {
        let (header, idle) = (
            header_timeout.as_millis() as u64,
            idle_timeout.as_millis() as u64,
        );
        loop {
            let now = self.now();
            let wait = if self.in_flight.load(Ordering::SeqCst) > 0 {
                // Checked again after a while: cheap, and a request's own time is bounded by
                // the request timeout layer.
                header.min(idle)
            } else {
                let pending = self.pending_since.load(Ordering::SeqCst);
                let deadline = if pending != NONE {
                    pending + header
                } else {
                    self.idle_since.load(Ordering::SeqCst) + idle
                };
                if now >= deadline {
                    return;
                }
                deadline - now
            };
            tokio::time::sleep(Duration::from_millis(wait.max(10))).await;
        }
    }
}

/// A request in flight; dropped with its response body.
pub(super) struct Busy(Arc<Activity>);

impl Busy {
    /// `body`, holding this request in flight until it is dropped.
    pub(super) fn guard(self, body: Body) -> Body {
        Body::new(body.map_frame(move |f| {
            let _hold = &self;
            f
        }))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = self.0.now();
        self.0.idle_since.store(now, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The client socket, noting when bytes arrive.
pub(super) struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub(super) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_bytes();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
