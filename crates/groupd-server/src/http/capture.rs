//! Capture: `/e`, `/i/v0/e`, `/capture`, `/batch`, `/track`, `/engage` (spec capture.md).
//!
//! Pure stages from `groupd_core::capture` (decode → parse → validate), then one store job per
//! request. The answer is 200 `{"status": 1}` only after the events and the group changes they
//! cause are committed; a full write queue answers 503 with `Retry-After` so SDKs retry.
use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use groupd_core::{
    ProjectId,
    capture::{CaptureError, RawCapture, decode, is_beacon, parse_request},
};
use groupd_store::IngestBatch;
use serde_json::json;

use super::{error::ApiError, request::read_bounded, routes::route};
use crate::state::AppState;

/// The capture paths, each also with a trailing slash.
const PATHS: [&str; 6] = ["/e", "/i/v0/e", "/capture", "/batch", "/track", "/engage"];

/// The capture routes.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    PATHS.iter().fold(Router::new(), |r, p| {
        r.merge(route(p, get(capture).post(capture).options(preflight)))
    })
}

/// CORS headers mirroring the request's `Origin` (SDKs in browsers send credentials).
fn cors(req_headers: &HeaderMap, resp: &mut Response) {
    let h = resp.headers_mut();
    match req_headers.get(header::ORIGIN) {
        Some(origin) => {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        None => {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let allow_headers = req_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type, content-encoding"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
}

async fn preflight(headers: HeaderMap) -> Response {
    let mut resp = StatusCode::OK.into_response();
    cors(&headers, &mut resp);
    resp
}

async fn capture(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut resp = match handle(&state, &parts.method, &parts.uri, &parts.headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    cors(&parts.headers, &mut resp);
    resp
}

fn capture_error(e: CaptureError) -> ApiError {
    ApiError::from_parts(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        e.error_type(),
        e.code(),
        e.detail(),
        e.attr(),
    )
}

async fn handle(
    state: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let received_at = state.clock.now_us();
    let limits = state.config.capture_limits();
    let body = if method == Method::GET {
        Vec::new()
    } else {
        read_bounded(body, state.config.max_capture_body_bytes)
            .await
            .map_err(|e| {
                e.unwrap_or_else(|| {
                    capture_error(CaptureError::body_too_large(
                        state.config.max_capture_body_bytes,
                    ))
                })
            })?
    };
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let raw = RawCapture {
        query: uri.query(),
        content_type: header_str(header::CONTENT_TYPE),
        content_encoding: header_str(header::CONTENT_ENCODING),
        body: &body,
        engage: uri.path().starts_with("/engage"),
    };
    let json = decode(&raw, &limits).map_err(capture_error)?;
    let request = parse_request(&json, raw.engage).map_err(capture_error)?;
    let project = project_for_token(state, request.token()).await?;
    tracing::Span::current().record("project", project);
    let batch = request
        .validate(received_at, &limits)
        .map_err(capture_error)?;
    let n = batch.events.len();
    if n > 0 {
        let summary = state
            .store
            .ingest(
                ProjectId(project),
                IngestBatch {
                    events: batch.events,
                    max_group_types: state.config.max_group_types,
                    now_us: received_at,
                },
            )
            .await?;
        metrics::counter!("groupd_events_ingested_total").increment(summary.stored as u64);
        metrics::counter!("groupd_events_duplicate_total").increment(summary.duplicates as u64);
        metrics::counter!("groupd_group_upserts_total").increment(summary.group_updates as u64);
    }
    if is_beacon(raw.query) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(json!({"status": 1})).into_response())
}

/// The project whose public token this is (positive answers are cached: tokens never change).
async fn project_for_token(state: &AppState, token: &str) -> Result<i64, ApiError> {
    if let Some(id) = state.tokens.get(token) {
        return Ok(id);
    }
    let project = state
        .store
        .project_by_token(token)
        .await?
        .ok_or_else(|| capture_error(CaptureError::InvalidApiKey))?;
    state.tokens.insert(token.to_owned(), project.id.0);
    Ok(project.id.0)
}
