//! `POST /api/projects/{project_id}/query/` — HogQL over `groups` and `events`.
//! The text is parsed and translated by `groupd_hogql` (literals bound, identifiers from groupd's
//! schema, every table scoped to the project); the store runs it under a time limit.
use std::time::Duration;

use axum::{Json, Router, extract::State};
use groupd_core::Scope;
use groupd_hogql::{QueryContext, translate};
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
    params(("project_id" = String, Path)),
    responses((status = 200, description = "columns, types, results, hogql, hasMore"), (status = 400, body = super::error::ErrorBody)))]
pub async fn query(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::QueryRead)?;
    if let Some(values) = super::usage_query::dispatch(&state, &api).await? {
        return Ok(Json(values));
    }
    let text = api.parse_body(parse_query_text)?;
    let ctx = QueryContext {
        project_id: api.project_id().0,
        max_group_types: state.config.max_group_types,
        now_us: state.clock.now_us(),
        default_limit: 100,
        max_limit: 50_000,
    };
    let translated = translate(&text, state.store.dialect(), &ctx)
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
