//! Capture: `/e`, `/i/v0/e`, `/capture`, `/batch`, `/track`, `/engage`.
//!
//! Pure stages from `groupd_core::capture` (decode → parse → validate), then one store job per
//! request. The answer is 200 `{"status": 1}` only after the events and the group changes they
//! cause are committed; a full write queue answers 503 with `Retry-After` so SDKs retry.
use std::time::Duration;

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use groupd_core::{
    ProjectId,
    capture::{CaptureError, RawCapture, decode, is_beacon, parse_request},
};
use groupd_store::IngestBatch;
use serde_json::json;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use super::{error::ApiResult, request::read_bounded, routes::route};
use crate::state::AppState;

/// The capture paths, each also with a trailing slash.
pub(super) const PATHS: [&str; 6] = ["/e", "/i/v0/e", "/capture", "/batch", "/track", "/engage"];

/// The capture routes. Browsers send events with credentials from any site, so CORS mirrors the
/// request's `Origin` (as PostHog's capture does) and answers every `OPTIONS` preflight itself.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(Duration::from_secs(86_400));
    PATHS
        .iter()
        .fold(Router::new(), |r, p| {
            r.merge(route(p, get(capture).post(capture)))
        })
        .layer(cors)
}

/// One capture request: body → events → the project of the token → one store job.
async fn capture(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let received_at = state.clock.now_us();
    let limits = state.config.capture_limits();
    let max_body = state.config.max_capture_body_bytes;
    let body = if method == Method::GET {
        Vec::new()
    } else {
        read_bounded(body, max_body)
            .await
            .map_err(|e| e.unwrap_or_else(|| CaptureError::body_too_large(max_body).into()))?
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
    let json = decode(&raw, &limits)?;
    let request = parse_request(&json, raw.engage)?;
    // The token before validation: a stranger's request is 401 before any 400.
    let project = project_for_token(&state, request.token()).await?;
    tracing::Span::current().record("project", project.0);
    let batch = request.validate(received_at, &limits)?;
    if !batch.events.is_empty() {
        let summary = state
            .store
            .ingest(
                project,
                IngestBatch {
                    source: Default::default(),
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

/// The one documented capture operation: `openapi.rs` repeats it for every path in [`PATHS`] and
/// for `GET` (payload in `data`), each with its own `operationId`.
#[utoipa::path(post, path = "/e/", tag = "capture", security(()),
    params(("data" = Option<String>, Query, description = "The payload, instead of the body (e.g. from `GET`)"),
           ("compression" = Option<String>, Query, description = "`gzip`, `gzip-js`, `base64`, `b64`, `lz64` or `lz-string`"),
           ("beacon" = Option<String>, Query, description = "`1`: answer 204 with no body (`navigator.sendBeacon`)"),
           ("ver" = Option<String>, Query, description = "The SDK's version (ignored)"),
           ("_" = Option<String>, Query, description = "The client's time in ms (ignored)")),
    request_body(description = "Events under a project token: a batch, an array or one event; as JSON, as a form with `data`, or compressed",
        content((super::schema::CapturePayload = "application/json"), (super::schema::CapturePayload = "text/plain"),
                (String = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "Committed", body = super::schema::CaptureAnswer),
              (status = 204, description = "Committed (`beacon=1`)"),
              (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody),
              (status = 413, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)))]
#[allow(dead_code, reason = "documents `capture` for every path; never routed")]
pub(super) fn capture_doc() {}

/// The project whose public token this is (positive answers are cached: tokens never change).
async fn project_for_token(state: &AppState, token: &str) -> ApiResult<ProjectId> {
    if let Some(id) = state.tokens.get(token) {
        return Ok(id);
    }
    let project = state
        .store
        .project_by_token(token)
        .await?
        .ok_or(CaptureError::InvalidApiKey)?;
    let id = project.id;
    state.tokens.insert(token.to_owned(), id);
    Ok(id)
}
