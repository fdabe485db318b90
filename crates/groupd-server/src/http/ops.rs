//! Operational endpoints: `/_health`, `/metrics`, `/api/schema/`.
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::routes::route;
use crate::state::AppState;

/// The operational routes.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    Router::new()
        .merge(route("/_health", get(health)))
        .merge(route("/metrics", get(metrics)))
        .merge(route("/api/schema", get(schema)))
}

/// `POST /_bench/noop`: the same server and layers as capture, minus decoding and storage.
pub fn bench_router() -> Router<AppState> {
    route("/_bench/noop", axum::routing::post(noop))
}

async fn noop(body: axum::body::Bytes) -> Response {
    std::hint::black_box(&body);
    Json(json!({"status": 1})).into_response()
}

/// How long `/_health` waits for the database before it answers 503 itself.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[utoipa::path(get, path = "/_health", tag = "ops", security(()),
    responses((status = 200, description = "The database answers and accepts writes", body = super::schema::Health),
              (status = 503, description = "Degraded or unavailable, with the reason", body = super::schema::Health)))]
/// 200 when the database answers and accepts a write within 2 s; 503 otherwise, with the reason:
/// `degraded` when it refuses writes (reads still work), `unavailable` when it cannot be reached.
pub async fn health(State(state): State<AppState>) -> Response {
    use groupd_store::StoreError;
    let (status, reason) = match tokio::time::timeout(HEALTH_TIMEOUT, state.store.health()).await {
        Ok(Ok(())) => return Json(json!({"status": "ok"})).into_response(),
        Ok(Err(StoreError::StorageFull(why))) => (
            "degraded",
            format!("the database refuses writes (disk full?): {why}"),
        ),
        Ok(Err(StoreError::Busy)) => ("unavailable", "the database is busy".to_owned()),
        Ok(Err(e)) => ("unavailable", format!("the database does not answer: {e}")),
        Err(_) => (
            "unavailable",
            "the database did not answer within 2 s".to_owned(),
        ),
    };
    tracing::warn!(status, reason = %reason, "health check failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "2")],
        Json(json!({"status": status, "reason": reason})),
    )
        .into_response()
}

#[utoipa::path(get, path = "/metrics", tag = "ops", security(()),
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
/// Prometheus text exposition. The write queue's depth is read when scraped: a gauge needs no
/// bookkeeping on the write path.
pub async fn metrics(State(state): State<AppState>) -> Response {
    metrics::gauge!("groupd_write_queue_depth").set(state.store.write_queue_depth() as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/schema/", tag = "ops", security(()),
    responses((status = 200, description = "This OpenAPI document", body = Object)))]
/// The OpenAPI document, generated from the handlers' annotations.
pub async fn schema() -> Response {
    use utoipa::OpenApi;
    Json(super::openapi::ApiDoc::openapi()).into_response()
}
