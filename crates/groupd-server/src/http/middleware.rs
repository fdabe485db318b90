//! Layers every route shares: one structured log line per request (method, route, status,
//! latency, project — never the query string, which may hold a key), per-route metrics, a time
//! limit, and a 500 in the error shape should a handler ever panic.
use std::time::{Duration, Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::error::ApiError;
use crate::state::AppState;

/// Logs, measures and bounds one request.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let span = tracing::info_span!("request", method = %method, route = %route, project = tracing::field::Empty);
    let limit = Duration::from_secs(state.config.request_timeout_secs);
    let resp = match tokio::time::timeout(limit, next.run(req).instrument(span.clone())).await {
        Ok(r) => r,
        Err(_) => ApiError::unavailable("The request took too long.", 1).into_response(),
    };
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("groupd_http_requests_total", &labels).increment(1);
    metrics::histogram!("groupd_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(status, latency_us = elapsed.as_micros() as u64, "request");
    });
    resp
}

/// An `OPTIONS` that is no CORS preflight is a method the REST routes do not serve: 405, as for
/// any other (the CORS layer would otherwise answer every `OPTIONS` 200).
pub async fn plain_options_not_allowed(req: Request, next: Next) -> Response {
    let preflight = req
        .headers()
        .contains_key(axum::http::header::ACCESS_CONTROL_REQUEST_METHOD);
    if req.method() == axum::http::Method::OPTIONS && !preflight {
        return ApiError::method_not_allowed("OPTIONS").into_response();
    }
    next.run(req).await
}

/// The answer when a handler panicked: a bug, never the client's fault.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
}
