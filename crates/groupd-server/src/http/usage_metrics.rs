//! `/api/projects/{project_id}/groups_types/{group_type_index}/metrics/…`: a group type's usage
//! metrics (PostHog's customer analytics), with PostHog's validation. The values are computed by
//! `POST /query/` with `kind: "UsageMetricsQuery"` (`usage_query.rs`).
use axum::{
    Json, Router,
    extract::{RawPathParams, State, rejection::RawPathParamsRejection},
    http::StatusCode,
    response::IntoResponse,
};
use groupd_core::{GroupTypeIndex, Scope, filters::EventFilter, time_fmt::format_us};
use groupd_store::{TypeRef, UsageMetric};
use serde_json::{Map, Value, json};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    fields::{self, optional_string, required_string},
    paging::Paging,
    routes::route,
};
use crate::state::AppState;

/// Longest metric name (PostHog's `max_length`).
const NAME_MAX: usize = 255;
/// Longest `math_property`.
const PROPERTY_MAX: usize = 400;

/// The routes of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    Router::new()
        .merge(route(
            "/groups_types/{group_type_index}/metrics",
            get(list).post(create),
        ))
        .merge(route(
            "/groups_types/{group_type_index}/metrics/{id}",
            get(retrieve).put(replace).patch(update).delete(remove),
        ))
}

/// The metric as the API shows it.
pub fn metric_json(m: &UsageMetric) -> Value {
    json!({
        "id": m.id.hyphenated().to_string(), "name": m.name, "format": m.format,
        "interval": m.interval, "display": m.display, "filters": m.filters,
        "math": m.math, "math_property": m.math_property, "created_at": format_us(m.created_at),
    })
}

/// The type (and metric id, where the path has one) a request addresses. A path segment that is
/// not UTF-8 once decoded, or an id that is no UUID, addresses nothing (404).
struct Target {
    t: TypeRef,
    id: Option<uuid::Uuid>,
}

fn target(
    api: &ProjectApi,
    params: Result<RawPathParams, RawPathParamsRejection>,
) -> ApiResult<Target> {
    let params = params.map_err(|_| ApiError::not_found())?;
    let get = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    let index = GroupTypeIndex::parse_str(get("group_type_index").unwrap_or(""))
        .ok_or_else(|| ApiError::not_an_integer("group_type_index"))?;
    let id = match get("id") {
        None => None,
        Some(raw) => Some(uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found())?),
    };
    Ok(Target {
        t: TypeRef {
            project: api.project_id(),
            index,
        },
        id,
    })
}

/// A body's fields checked in PostHog's order, over `base` (the stored metric on PATCH and PUT,
/// the defaults on POST). `names` are the other metrics' names of the type. `partial`: unsent
/// `name` and `filters` keep `base`'s.
pub fn validate(
    body: Value,
    mut m: UsageMetric,
    names: &[String],
    partial: bool,
) -> ApiResult<UsageMetric> {
    let body = fields::object(body)?;
    if !partial || body.contains_key("name") {
        m.name = required_string(&body, "name", NAME_MAX)?;
    }
    if names.contains(&m.name) {
        return Err(ApiError::invalid(
            "name",
            "A metric with this name already exists.",
        ));
    }
    if !partial || body.contains_key("filters") {
        m.filters = match body.get("filters") {
            None => return Err(ApiError::required_field("filters")),
            Some(Value::Null) => {
                return Err(ApiError::validation(
                    "null",
                    "This field may not be null.",
                    Some("filters"),
                ));
            }
            Some(v) => v.clone(),
        };
        if fields::has_nul(&m.filters) {
            return Err(ApiError::invalid(
                "filters",
                "Null characters are not allowed.",
            ));
        }
        EventFilter::parse(&m.filters).map_err(|e| ApiError::invalid("filters", e.detail))?;
    }
    if let Some(v) = choice(&body, "format", &["numeric", "currency"])? {
        m.format = v;
    }
    if let Some(v) = choice(&body, "display", &["number", "sparkline"])? {
        m.display = v;
    }
    if let Some(v) = choice(&body, "math", &["count", "sum"])? {
        m.math = v;
    }
    if let Some(v) = body.get("interval") {
        m.interval = interval(v)?;
    }
    if body.contains_key("math_property") {
        m.math_property = optional_string(&body, "math_property", PROPERTY_MAX)
            .or_else(|e| match body.get("math_property") {
                // An empty string is "no property", as null is.
                Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
                _ => Err(e),
            })?
            .flatten();
    }
    match (m.math.as_str(), &m.math_property) {
        ("sum", None) => Err(ApiError::invalid(
            "math_property",
            "math_property is required when math is 'sum'.",
        )),
        ("count", Some(_)) => Err(ApiError::invalid(
            "math_property",
            "math_property must be empty when math is 'count'.",
        )),
        _ => Ok(m),
    }
}

/// A choice field: absent → `None` (unchanged), else one of `allowed`.
fn choice(body: &Map<String, Value>, name: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(Value::Null) => Err(ApiError::validation(
            "null",
            "This field may not be null.",
            Some(name),
        )),
        Some(other) => {
            let shown = match other {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            Err(ApiError::invalid(
                name,
                format!("\"{shown}\" is not a valid choice."),
            ))
        }
    }
}

/// `interval`: an integer number of days, 1–365.
fn interval(v: &Value) -> ApiResult<i64> {
    let n = GroupTypeIndex::parse_json(v)
        .map(|i| i.0)
        .ok_or_else(|| ApiError::not_an_integer("interval"))?;
    if n < 1 {
        return Err(ApiError::invalid(
            "interval",
            "Ensure this value is greater than or equal to 1.",
        ));
    }
    if n > 365 {
        return Err(ApiError::invalid(
            "interval",
            "Ensure this value is less than or equal to 365.",
        ));
    }
    Ok(n)
}

/// A new metric's defaults.
fn defaults(t: TypeRef, now_us: i64) -> UsageMetric {
    UsageMetric {
        id: uuid::Uuid::now_v7(),
        project: t.project,
        index: t.index,
        name: String::new(),
        format: "numeric".into(),
        interval: 7,
        display: "number".into(),
        filters: Value::Null,
        math: "count".into(),
        math_property: None,
        created_at: now_us,
    }
}

/// The type's metric names other than `except`'s.
async fn other_names(
    state: &AppState,
    t: TypeRef,
    except: Option<uuid::Uuid>,
) -> ApiResult<Vec<String>> {
    Ok(state
        .store
        .list_usage_metrics(t)
        .await?
        .into_iter()
        .filter(|m| Some(m.id) != except)
        .map(|m| m.name)
        .collect())
}

async fn stored(state: &AppState, t: &Target) -> ApiResult<UsageMetric> {
    let id = t.id.ok_or_else(ApiError::not_found)?;
    state
        .store
        .get_usage_metric(t.t, id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// GET /groups_types/{i}/metrics/ — the type's metrics, oldest first.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/", tag = "usage_metrics",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("limit" = Option<u32>, Query), ("offset" = Option<u32>, Query)),
    responses((status = 200, description = "Metrics, by creation", body = super::schema::UsageMetricPage), (status = 400, body = super::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    api.require(Scope::UsageMetricRead)?;
    let t = target(&api, params)?;
    let paging = Paging::parse(&api.req, 100, 1000)?;
    let all = state.store.list_usage_metrics(t.t).await?;
    let total = all.len() as u64;
    let results: Vec<Value> = all
        .iter()
        .skip(usize::try_from(paging.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.limit).unwrap_or(usize::MAX))
        .map(metric_json)
        .collect();
    let (next, previous) = paging.links(&api.req, total);
    Ok(Json(
        json!({"count": total, "next": next, "previous": previous, "results": results}),
    ))
}

/// POST /groups_types/{i}/metrics/ — a new metric.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/", tag = "usage_metrics",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path)), request_body = super::schema::UsageMetricBody,
    responses((status = 201, description = "The metric", body = super::schema::UsageMetric), (status = 400, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
) -> ApiResult<impl IntoResponse> {
    api.require(Scope::UsageMetricWrite)?;
    let t = target(&api, params)?;
    let names = other_names(&state, t.t, None).await?;
    let base = defaults(t.t, state.clock.now_us());
    let m = api.parse_body(|b| validate(b, base, &names, false))?;
    let m = state.store.create_usage_metric(m).await?;
    Ok((StatusCode::CREATED, Json(metric_json(&m))))
}

/// GET /groups_types/{i}/metrics/{id}
#[utoipa::path(get, path = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/", tag = "usage_metrics",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("id" = String, Path)),
    responses((status = 200, description = "The metric", body = super::schema::UsageMetric), (status = 404, body = super::error::ErrorBody)))]
pub async fn retrieve(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    api.require(Scope::UsageMetricRead)?;
    let t = target(&api, params)?;
    Ok(Json(metric_json(&stored(&state, &t).await?)))
}

async fn change(
    state: AppState,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
    partial: bool,
) -> ApiResult<Json<Value>> {
    api.require(Scope::UsageMetricWrite)?;
    let t = target(&api, params)?;
    let current = stored(&state, &t).await?;
    let names = other_names(&state, t.t, Some(current.id)).await?;
    let m = api.parse_body(|b| validate(b, current, &names, partial))?;
    let m = state.store.update_usage_metric(m).await?;
    Ok(Json(metric_json(&m)))
}

/// PUT /groups_types/{i}/metrics/{id} — `name` and `filters` required, other unsent fields kept.
#[utoipa::path(put, path = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/", tag = "usage_metrics",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("id" = String, Path)), request_body = super::schema::UsageMetricBody,
    responses((status = 200, description = "The metric", body = super::schema::UsageMetric), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn replace(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    change(state, params, api, false).await
}

/// PATCH /groups_types/{i}/metrics/{id} — the sent fields, checked with the stored ones.
#[utoipa::path(patch, path = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/", tag = "usage_metrics",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("id" = String, Path)), request_body = super::schema::UsageMetricPatch,
    responses((status = 200, description = "The metric", body = super::schema::UsageMetric), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    change(state, params, api, true).await
}

/// DELETE /groups_types/{i}/metrics/{id}
#[utoipa::path(delete, path = "/api/projects/{project_id}/groups_types/{group_type_index}/metrics/{id}/", tag = "usage_metrics",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
) -> ApiResult<StatusCode> {
    api.require(Scope::UsageMetricWrite)?;
    let t = target(&api, params)?;
    let id = t.id.ok_or_else(ApiError::not_found)?;
    state.store.delete_usage_metric(t.t, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
