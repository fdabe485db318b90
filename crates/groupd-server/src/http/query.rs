//! `POST /api/projects/:project_id/query/` — HogQL over `groups` and `events` (spec query.md).
//! The text is parsed and translated by `groupd_hogql` (literals bound, identifiers from groupd's
//! schema, every table scoped to the project); the store runs it under a time limit.
use std::time::Duration;

use axum::{Json, Router, extract::State};
use groupd_core::Scope;
use groupd_hogql::{QueryContext, translate};
use serde_json::{Value, json};

use super::{
    auth::Api,
    error::{ApiError, ApiResult},
    fields,
    routes::route,
};
use crate::state::AppState;

/// The route of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    route("/query", axum::routing::post(query))
}

/// Runs one `HogQLQuery`.
#[utoipa::path(post, path = "/api/projects/{project_id}/query/", tag = "query",
    params(("project_id" = String, Path)),
    responses((status = 200, description = "columns, types, results, hogql, hasMore"), (status = 400, body = super::error::ErrorBody)))]
pub async fn query(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    api.require(Scope::QueryRead)?;
    let body = fields::object(api.req.json_body()?)?;
    let Some(q) = body.get("query").and_then(Value::as_object) else {
        return Err(ApiError::validation(
            "required",
            "This field is required.",
            Some("query"),
        ));
    };
    match q.get("kind").and_then(Value::as_str) {
        Some("HogQLQuery") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "kind",
                format!("Unsupported query kind: {other}"),
            ));
        }
        None => {
            return Err(ApiError::validation(
                "required",
                "This field is required.",
                Some("kind"),
            ));
        }
    }
    let Some(text) = q.get("query").and_then(Value::as_str) else {
        return Err(ApiError::validation(
            "required",
            "This field is required.",
            Some("query"),
        ));
    };
    let ctx = QueryContext {
        project_id: api.project().id.0,
        max_group_types: state.config.max_group_types,
        now_us: state.clock.now_us(),
        default_limit: 100,
        max_limit: 50_000,
    };
    let translated = translate(text, state.store.dialect(), &ctx)
        .map_err(|e| ApiError::validation("invalid_input", e.detail, Some("query")))?;
    let (columns, types, hogql, limit, offset) = (
        translated.columns.clone(),
        translated.types.clone(),
        translated.hogql.clone(),
        translated.limit,
        translated.offset,
    );
    let timeout = Duration::from_secs(state.config.query_timeout_secs);
    let mut rows = state.store.run_query(translated, timeout).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let results: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            Value::Array(
                row.into_iter()
                    .zip(&types)
                    .map(|(v, ty)| groupd_hogql::to_json(ty, v))
                    .collect(),
            )
        })
        .collect();
    let type_pairs: Vec<Value> = columns
        .iter()
        .zip(&types)
        .map(|(c, t)| json!([c, t.clickhouse_name()]))
        .collect();
    Ok(Json(json!({
        "columns": columns,
        "types": type_pairs,
        "results": results,
        "hogql": hogql,
        "hasMore": has_more,
        "limit": limit,
        "offset": offset,
        "is_cached": false,
    })))
}
