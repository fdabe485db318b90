//! `GET /api/projects/{project_id}/ingestion_warnings` (a groupd extension): the capture
//! problems that did not fail a request (a group type over the limit, an invalid
//! `$groupidentify`).
use axum::{Json, Router, extract::State};
use groupd_core::{Scope, time_fmt::format_us};
use serde_json::{Value, json};

use super::{auth::ProjectApi, error::ApiResult, routes::route};
use crate::state::AppState;

/// Most warnings kept and listed per project.
const LISTED: u32 = 1000;

/// The route of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    route("/ingestion_warnings", axum::routing::get(list))
}

/// Newest first, the last 1000.
#[utoipa::path(get, path = "/api/projects/{project_id}/ingestion_warnings", tag = "ingestion_warnings",
    params(("project_id" = String, Path)), responses((status = 200, description = "Warnings, newest first", body = super::schema::IngestionWarnings)))]
pub async fn list(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::ProjectRead)?;
    let rows = state
        .store
        .ingestion_warnings(api.project_id(), LISTED)
        .await?;
    let results: Vec<Value> = rows
        .iter()
        .map(|w| json!({"type": w.kind, "details": w.details, "timestamp": format_us(w.timestamp)}))
        .collect();
    Ok(Json(json!({"results": results})))
}
