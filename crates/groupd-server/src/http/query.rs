//! `POST /api/projects/{project_id}/query/` — HogQL over `groups` and `events`.
//! `groupd_analytics` parses the text, rewrites it with HogQL's meaning and runs it on DataFusion
//! over the project's own tables, under the time limit and the shared memory pool.
use std::time::Duration;

use axum::{Json, Router, extract::State};
use groupd_analytics::{EngineError, QueryRequest};
use groupd_core::Scope;
use groupd_store::StoreError;
use serde_json::{Value, json};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    fields,
    routes::route,
};
use crate::state::AppState;

/// The route of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    route("/query", axum::routing::post(query))
}

/// The body of a query request: `{"query": {"kind": "HogQLQuery", "query": text}}`.
pub fn parse_query_text(body: Value) -> ApiResult<String> {
    let body = fields::object(body)?;
    let q = body
        .get("query")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::required_field("query"))?;
    match q.get("kind").and_then(Value::as_str) {
        Some("HogQLQuery") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "kind",
                format!("Unsupported query kind: {other}"),
            ));
        }
        None => return Err(ApiError::required_field("kind")),
    }
    q.get("query")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::required_field("query"))
}

/// Runs one `HogQLQuery`.
#[utoipa::path(post, path = "/api/projects/{project_id}/query/", tag = "query",
    params(("project_id" = String, Path)), request_body = super::schema::QueryRequest,
    responses((status = 200, description = "The result", body = super::schema::QueryAnswer), (status = 400, body = super::error::ErrorBody)))]
pub async fn query(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::QueryRead)?;
    if let Some(values) = super::usage_query::dispatch(&state, &api).await? {
        return Ok(Json(values));
    }
    let text = api.parse_body(parse_query_text)?;
    let req = QueryRequest {
        text,
        project: api.project_id(),
        now_us: state.clock.now_us(),
        timeout: Duration::from_secs(state.config.query_timeout_secs),
        default_limit: 100,
        max_limit: 50_000,
    };
    let answer = state
        .engine
        .query(state.store.as_ref(), &req)
        .await
        .map_err(engine_error)?;
    let type_pairs: Vec<Value> = answer
        .columns
        .iter()
        .zip(&answer.types)
        .map(|(c, t)| json!([c, t]))
        .collect();
    Ok(Json(json!({
        "columns": answer.columns,
        "types": type_pairs,
        "results": answer.results,
        "hogql": answer.hogql,
        "hasMore": answer.has_more,
        "limit": answer.limit,
        "offset": answer.offset,
        "is_cached": false,
    })))
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Invalid(detail) => {
            ApiError::validation("invalid_input", detail, Some("query"))
        }
        EngineError::Timeout => ApiError::from(StoreError::QueryTimeout),
        EngineError::Memory(_) => ApiError::validation(
            "query_memory_limit",
            "The query needed more memory than the server allows (--query-memory-mb).",
            Some("query"),
        ),
        EngineError::Store(e) => ApiError::from(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_body_needs_a_hogql_query_text() {
        let ok = json!({"query": {"kind": "HogQLQuery", "query": "SELECT 1"}});
        assert_eq!(parse_query_text(ok).unwrap(), "SELECT 1");
        for (body, code, attr) in [
            (json!({}), "required", "query"),
            (json!({"query": "SELECT 1"}), "required", "query"),
            (json!({"query": {"query": "SELECT 1"}}), "required", "kind"),
            (
                json!({"query": {"kind": "TrendsQuery"}}),
                "invalid_input",
                "kind",
            ),
            (
                json!({"query": {"kind": "HogQLQuery"}}),
                "required",
                "query",
            ),
        ] {
            let (status, c, _, a) = parse_query_text(body.clone()).unwrap_err().describe();
            assert_eq!((status, c, a.as_deref()), (400, code, Some(attr)), "{body}");
        }
    }
}
