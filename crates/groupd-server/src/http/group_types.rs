//! `/api/projects/:project_id/groups_types/…` (spec groups.md, "Group types").
use axum::{
    Json, Router,
    extract::{RawPathParams, State, rejection::RawPathParamsRejection},
    http::{StatusCode, Uri},
    response::IntoResponse,
};
use groupd_core::{GroupTypeIndex, Scope, time_fmt::format_us};
use groupd_store::{GroupType, GroupTypeMetadataUpdate, NewGroupType, TypeRef};
use serde_json::{Value, json};

use super::{
    auth::Api,
    error::{ApiError, ApiResult},
    fields::{self, group_type_index_field, optional_string, required_string},
    routes::route,
};
use crate::state::AppState;

/// Longest type and display name.
const NAME_MAX: usize = 400;

/// The routes of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    use axum::routing::{delete, get, patch, put};
    Router::new()
        .merge(route("/groups_types", get(list).post(create)))
        .merge(route(
            "/groups_types/update_metadata",
            patch(update_metadata),
        ))
        .merge(route(
            "/groups_types/set_default_columns",
            put(set_default_columns),
        ))
        .merge(route("/groups_types/{group_type_index}", delete(remove)))
}

fn type_json(t: &GroupType) -> Value {
    json!({
        "group_type_index": t.index,
        "group_type": t.group_type,
        "name_singular": t.name_singular,
        "name_plural": t.name_plural,
        "detail_dashboard": null,
        "default_columns": t.default_columns,
        "created_at": format_us(t.created_at),
    })
}

fn types_json(ts: &[GroupType]) -> Json<Value> {
    Json(Value::Array(ts.iter().map(type_json).collect()))
}

/// GET /groups_types/ — the project's types, ordered by index.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups_types/", tag = "groups_types",
    params(("project_id" = String, Path)), responses((status = 200, description = "Group types")))]
pub async fn list(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let types = state.store.list_group_types(api.project().id).await?;
    Ok(types_json(&types))
}

/// POST /groups_types/ — create a type (groupd extension).
#[utoipa::path(post, path = "/api/projects/{project_id}/groups_types/", tag = "groups_types",
    params(("project_id" = String, Path)),
    responses((status = 201, description = "The new type"), (status = 400, body = super::error::ErrorBody)))]
pub async fn create(State(state): State<AppState>, api: Api) -> ApiResult<impl IntoResponse> {
    api.require(Scope::GroupWrite)?;
    let body = fields::object(api.req.json_body()?)?;
    let group_type = required_string(&body, "group_type", NAME_MAX)?;
    let name_singular = optional_string(&body, "name_singular", NAME_MAX)?.flatten();
    let name_plural = optional_string(&body, "name_plural", NAME_MAX)?.flatten();
    let t = state
        .store
        .create_group_type(
            NewGroupType {
                project: api.project().id,
                max_group_types: state.config.max_group_types,
                group_type,
                name_singular,
                name_plural,
            },
            state.clock.now_us(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(type_json(&t))))
}

/// PATCH /groups_types/update_metadata — rename types, all or nothing.
#[utoipa::path(patch, path = "/api/projects/{project_id}/groups_types/update_metadata", tag = "groups_types",
    params(("project_id" = String, Path)),
    responses((status = 200, description = "All types"), (status = 400, body = super::error::ErrorBody)))]
pub async fn update_metadata(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupWrite)?;
    let Value::Array(items) = api.req.json_body()? else {
        return Err(ApiError::validation(
            "invalid_input",
            "Expected a list of group type objects.",
            None,
        ));
    };
    let mut updates = Vec::with_capacity(items.len());
    for item in &items {
        let obj = match item {
            Value::Object(o) => o,
            _ => {
                return Err(ApiError::validation(
                    "invalid_input",
                    "Expected a list of group type objects.",
                    None,
                ));
            }
        };
        updates.push(GroupTypeMetadataUpdate {
            index: group_type_index_field(obj)?,
            name_singular: optional_name(obj, "name_singular")?,
            name_plural: optional_name(obj, "name_plural")?,
        });
    }
    let types = state
        .store
        .update_group_type_metadata(api.project().id, updates)
        .await?;
    Ok(types_json(&types))
}

/// A display name: absent → unchanged, null or "" → cleared.
fn optional_name(
    obj: &serde_json::Map<String, Value>,
    name: &str,
) -> ApiResult<Option<Option<String>>> {
    if matches!(obj.get(name), Some(Value::String(s)) if s.is_empty()) {
        return Ok(Some(None));
    }
    optional_string(obj, name, NAME_MAX)
}

/// PUT /groups_types/set_default_columns — the columns shown by default.
#[utoipa::path(put, path = "/api/projects/{project_id}/groups_types/set_default_columns", tag = "groups_types",
    params(("project_id" = String, Path)),
    responses((status = 200, description = "The type"), (status = 404, body = super::error::ErrorBody)))]
pub async fn set_default_columns(
    State(state): State<AppState>,
    api: Api,
) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupWrite)?;
    let body = fields::object(api.req.json_body()?)?;
    let index = group_type_index_field(&body)?;
    let columns = match body.get("default_columns") {
        None => {
            return Err(ApiError::validation(
                "required",
                "This field is required.",
                Some("default_columns"),
            ));
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.contains('\0') => Ok(s.clone()),
                _ => Err(ApiError::invalid(
                    "default_columns",
                    "Expected a list of strings.",
                )),
            })
            .collect::<ApiResult<Vec<_>>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "default_columns",
                "Expected a list of strings.",
            ));
        }
    };
    let t = state
        .store
        .set_default_columns(
            TypeRef {
                project: api.project().id,
                index,
            },
            columns,
        )
        .await
        .map_err(type_not_found)?;
    Ok(Json(type_json(&t)))
}

fn type_not_found(e: groupd_store::StoreError) -> ApiError {
    match e {
        groupd_store::StoreError::NotFound => ApiError::not_found_with("Group type not found"),
        e => e.into(),
    }
}

/// DELETE /groups_types/:group_type_index — the type, its groups and their activity.
#[utoipa::path(delete, path = "/api/projects/{project_id}/groups_types/{group_type_index}", tag = "groups_types",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: Api,
) -> ApiResult<StatusCode> {
    api.require(Scope::GroupWrite)?;
    let params = params.map_err(|_| undecodable_segment(&api.req.uri))?;
    let raw = params
        .iter()
        .find(|(k, _)| *k == "group_type_index")
        .map(|(_, v)| v)
        .unwrap_or("");
    let index = GroupTypeIndex::parse_str(raw)
        .ok_or_else(|| ApiError::not_an_integer("group_type_index"))?;
    state
        .store
        .delete_group_type(api.project().id, index)
        .await
        .map_err(type_not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer when a path segment is not valid UTF-8 once percent-decoded: a non-integer
/// `group_type_index` (the last segment) is a 400, anything else can only be the project id (404).
fn undecodable_segment(uri: &Uri) -> ApiError {
    let last = uri
        .path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if std::str::from_utf8(&percent_decode(last)).is_err() {
        ApiError::not_an_integer("group_type_index")
    } else {
        ApiError::not_found_with("Project not found.")
    }
}

/// `%XX` sequences to bytes; anything else as is.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}
