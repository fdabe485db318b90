//! `/api/projects/:project_id/groups/…` (spec groups.md).
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse};
use groupd_core::{
    GroupKey, GroupTypeIndex, Scope, cursor::Cursor, merge::PropOp, time_fmt::format_us,
};
use groupd_store::{
    ActivityEntry, ActivityPage, Change, Group, GroupListQuery, GroupRef, NewGroup, PropertyEdit,
    ValuesQuery,
};
use serde_json::{Map, Value, json};

use super::{
    auth::Api,
    error::{ApiError, ApiResult},
    fields::{self, group_key_field, group_type_index_field, has_nul, index_param, positive_param},
    request::RequestInfo,
    routes::route,
};
use crate::state::AppState;

/// The routes of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .merge(route("/groups", get(list).post(create)))
        .merge(route("/groups/find", get(find)))
        .merge(route("/groups/update_property", post(update_property)))
        .merge(route("/groups/delete_property", post(delete_property)))
        .merge(route("/groups/activity", get(activity)))
        .merge(route(
            "/groups/property_definitions",
            get(property_definitions),
        ))
        .merge(route("/groups/property_values", get(property_values)))
}

/// Appends the group object of every response to `out`. Properties go out as the stored text,
/// always a JSON object written by serde_json, without re-parsing: validating it through
/// `RawValue` took a tenth of a list page's CPU.
fn write_group(out: &mut Vec<u8>, g: &Group, notebook: bool) {
    use std::io::Write as _;
    let props = g.properties_json.trim();
    let props = if props.starts_with('{') && props.ends_with('}') {
        props
    } else {
        "{}" // never fail a read over a damaged row
    };
    // Writes into a Vec cannot fail; a key is a plain string.
    let _ = write!(out, "{{\"group_type_index\":{},\"group_key\":", g.index);
    let _ = serde_json::to_writer(&mut *out, &g.key);
    out.extend_from_slice(b",\"group_properties\":");
    out.extend_from_slice(props.as_bytes());
    let _ = write!(out, ",\"created_at\":\"{}\"", format_us(g.created_at));
    if notebook {
        out.extend_from_slice(b",\"notebook\":null");
    }
    out.push(b'}');
}

/// A JSON response of already serialised bytes.
fn json_bytes(status: StatusCode, body: Vec<u8>) -> axum::response::Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The group object as a response.
fn group_response(status: StatusCode, g: &Group, notebook: bool) -> axum::response::Response {
    let mut body = Vec::with_capacity(g.properties_json.len() + 128);
    write_group(&mut body, g, notebook);
    json_bytes(status, body)
}

const LIST_INDEX_REQUIRED: &str = "You must pass ?group_type_index= in this URL. To get a list of valid group types, call /api/:project_id/groups_types/.";

/// GET /groups/ — one page of a type's groups.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/", tag = "groups",
    params(("project_id" = String, Path, description = "Project id or @current"),
           ("group_type_index" = i64, Query), ("search" = Option<String>, Query),
           ("group_key" = Option<String>, Query), ("cursor" = Option<String>, Query),
           ("limit" = Option<u32>, Query, description = "1–1000, default 100 (groupd extension)")),
    responses((status = 200, description = "A page of groups"), (status = 400, body = super::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, api: Api) -> ApiResult<axum::response::Response> {
    api.require(Scope::GroupRead)?;
    let req = &api.req;
    let index = match req.non_empty_param("group_type_index") {
        None => return Err(ApiError::invalid("group_type_index", LIST_INDEX_REQUIRED)),
        Some(raw) => GroupTypeIndex::parse_str(raw)
            .ok_or_else(|| ApiError::not_an_integer("group_type_index"))?,
    };
    let limit = match req.non_empty_param("limit") {
        None => 100,
        Some(raw) => match groupd_core::parse_int(raw) {
            Some(n @ 1..=1000) => n as u64,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    "Ensure this value is an integer between 1 and 1000.",
                ));
            }
        },
    };
    let search = req.non_empty_param("search").map(str::to_owned);
    let key_filter = req.non_empty_param("group_key").map(str::to_owned);
    let after = req.non_empty_param("cursor").and_then(Cursor::decode);
    let mut rows = state
        .store
        .list_groups(
            api.project().id,
            GroupListQuery {
                index,
                search: search.clone(),
                key_contains: key_filter.clone(),
                after,
                limit: limit + 1,
            },
        )
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = match rows.last() {
        Some(last) if more => {
            let cursor = Cursor {
                created_at_us: last.created_at,
                key: last.key.as_str().to_owned(),
            };
            let mut params = vec![
                ("group_type_index", index.0.to_string()),
                ("cursor", cursor.encode()),
            ];
            if let Some(s) = search {
                params.push(("search", s));
            }
            if let Some(k) = key_filter {
                params.push(("group_key", k));
            }
            if req.non_empty_param("limit").is_some() {
                params.push(("limit", limit.to_string()));
            }
            Value::String(req.url_with(&params))
        }
        _ => Value::Null,
    };
    let mut body = Vec::with_capacity(
        rows.iter()
            .map(|g| g.properties_json.len() + 128)
            .sum::<usize>()
            + 256,
    );
    body.extend_from_slice(b"{\"next\":");
    serde_json::to_writer(&mut body, &next).map_err(ApiError::internal)?;
    body.extend_from_slice(b",\"previous\":null,\"results\":[");
    for (i, g) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_group(&mut body, g, false);
    }
    body.extend_from_slice(b"]}");
    Ok(json_bytes(StatusCode::OK, body))
}

/// POST /groups/ — create a group.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/", tag = "groups",
    params(("project_id" = String, Path)),
    responses((status = 201, description = "The new group"), (status = 400, body = super::error::ErrorBody)))]
pub async fn create(State(state): State<AppState>, api: Api) -> ApiResult<impl IntoResponse> {
    api.require(Scope::GroupWrite)?;
    let body = fields::object(api.req.json_body()?)?;
    let index = group_type_index_field(&body)?;
    let key = group_key_field(&body, "group_key")?;
    let properties = match body.get("group_properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(ApiError::invalid(
                "group_properties",
                format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    fields::json_type_name(other)
                ),
            ));
        }
    };
    if properties
        .iter()
        .any(|(k, v)| k.contains('\0') || has_nul(v))
    {
        return Err(ApiError::invalid(
            "group_properties",
            "Null characters are not allowed.",
        ));
    }
    let group = state
        .store
        .create_group(
            NewGroup {
                group: GroupRef {
                    project: api.project().id,
                    index,
                    key,
                },
                properties,
            },
            Change {
                actor: api.actor(),
                at_us: state.clock.now_us(),
            },
        )
        .await?;
    Ok(group_response(StatusCode::CREATED, &group, false))
}

/// The group addressed by `group_type_index` and `group_key` (or `id`) query parameters.
async fn addressed_group(state: &AppState, api: &Api, key_params: &[&str]) -> ApiResult<Group> {
    let req = &api.req;
    if req.non_empty_param("group_type_index").is_none() {
        return Err(ApiError::required_param("group_type_index"));
    }
    let key = key_params
        .iter()
        .find_map(|p| req.non_empty_param(p))
        .ok_or_else(|| ApiError::required_param("group_key"))?;
    let index = index_param(req)?;
    // A key that cannot be valid cannot exist either.
    let key = GroupKey::parse(key).map_err(|_| ApiError::not_found())?;
    state
        .store
        .find_group(&GroupRef {
            project: api.project().id,
            index,
            key,
        })
        .await?
        .ok_or_else(ApiError::not_found)
}

/// GET /groups/find — one group.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/find", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query)),
    responses((status = 200, description = "The group"), (status = 404, body = super::error::ErrorBody)))]
pub async fn find(State(state): State<AppState>, api: Api) -> ApiResult<axum::response::Response> {
    api.require(Scope::GroupRead)?;
    let group = addressed_group(&state, &api, &["group_key"]).await?;
    Ok(group_response(StatusCode::OK, &group, true))
}

/// POST /groups/update_property — set one property.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/update_property", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query)),
    responses((status = 200, description = "The updated group"), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn update_property(
    State(state): State<AppState>,
    api: Api,
) -> ApiResult<axum::response::Response> {
    api.require(Scope::GroupWrite)?;
    let group = addressed_group(&state, &api, &["group_key"]).await?;
    let body = fields::object(api.req.json_body()?)?;
    let property = match body.get("key") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(ApiError::invalid("key", "This field is required.")),
    };
    let value = match body.get("value") {
        None | Some(Value::Null) => {
            return Err(ApiError::invalid("value", "This field is required."));
        }
        Some(v) => v.clone(),
    };
    if property.contains('\0') {
        return Err(ApiError::invalid("key", "Null characters are not allowed."));
    }
    if has_nul(&value) {
        return Err(ApiError::invalid(
            "value",
            "Null characters are not allowed.",
        ));
    }
    write_property(&state, &api, group, property, PropOp::Set(value)).await
}

/// POST /groups/delete_property — remove one property.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/delete_property", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query)),
    responses((status = 200, description = "The group without the property"), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_property(
    State(state): State<AppState>,
    api: Api,
) -> ApiResult<axum::response::Response> {
    api.require(Scope::GroupWrite)?;
    let group = addressed_group(&state, &api, &["group_key"]).await?;
    let body = fields::object(api.req.json_body()?)?;
    let Some(Value::String(property)) = body.get("$unset") else {
        return Err(ApiError::invalid(
            "$unset",
            "This field is required and must be a string (the property name to delete).",
        ));
    };
    if !group.properties().contains_key(property) {
        return Err(ApiError::invalid(
            "$unset",
            format!("Property '{property}' does not exist on this group."),
        ));
    }
    write_property(&state, &api, group, property.clone(), PropOp::Unset).await
}

async fn write_property(
    state: &AppState,
    api: &Api,
    group: Group,
    property: String,
    op: PropOp,
) -> ApiResult<axum::response::Response> {
    let updated = state
        .store
        .update_group_property(
            PropertyEdit {
                group: GroupRef {
                    project: api.project().id,
                    index: group.index,
                    key: group.key,
                },
                property,
                op,
            },
            Change {
                actor: api.actor(),
                at_us: state.clock.now_us(),
            },
        )
        .await?;
    Ok(group_response(StatusCode::OK, &updated, false))
}

fn activity_json(e: &ActivityEntry) -> Value {
    let user = match &e.actor {
        groupd_core::Actor::Key(label) => json!({"first_name": label, "email": null}),
        groupd_core::Actor::System => {
            json!({"first_name": "System", "email": null, "is_system": true})
        }
    };
    json!({
        "id": e.id,
        "user": user,
        "activity": e.activity,
        "scope": "Group",
        "item_id": e.item_id.to_string(),
        "detail": e.detail,
        "created_at": format_us(e.created_at),
    })
}

/// GET /groups/activity — a group's change history, newest first.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/activity", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query),
           ("page" = Option<u32>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "Activity entries"), (status = 404, body = super::error::ErrorBody)))]
pub async fn activity(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    api.require(Scope::ActivityLogRead)?;
    let req = &api.req;
    let page = positive_param(req, "page", 1)?;
    let limit = positive_param(req, "limit", 10)?.min(1000);
    let group = addressed_group(&state, &api, &["group_key", "id"]).await?;
    let offset = (page - 1).saturating_mul(limit);
    let (entries, total) = state
        .store
        .group_activity(
            api.project().id,
            ActivityPage {
                group_id: group.id,
                offset,
                limit,
            },
        )
        .await?;
    let page_url = |p: u64| Value::String(page_link(req, p));
    let next = if offset.saturating_add(limit) < total {
        page_url(page + 1)
    } else {
        Value::Null
    };
    let previous = if page > 1 {
        page_url(page - 1)
    } else {
        Value::Null
    };
    Ok(Json(json!({
        "results": entries.iter().map(activity_json).collect::<Vec<_>>(),
        "next": next,
        "previous": previous,
        "total_count": total,
    })))
}

/// This request's URL with `page` replaced (or appended).
fn page_link(req: &RequestInfo, page: u64) -> String {
    let mut params: Vec<(&str, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "page" && k != "personal_api_key")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    params.push(("page", page.to_string()));
    req.url_with(&params)
}

/// GET /groups/property_definitions — property names per type with group counts.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/property_definitions", tag = "groups",
    params(("project_id" = String, Path)), responses((status = 200, description = "Names per type index")))]
pub async fn property_definitions(
    State(state): State<AppState>,
    api: Api,
) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let rows = state.store.property_definitions(api.project().id).await?;
    let mut out = Map::new();
    for r in rows {
        let entry = out
            .entry(r.index.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(json!({"name": r.name, "count": r.count}));
        }
    }
    Ok(Json(Value::Object(out)))
}

/// GET /groups/property_values — the distinct values of one property.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/property_values", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("key" = String, Query), ("value" = Option<String>, Query)),
    responses((status = 200, description = "Values with counts")))]
pub async fn property_values(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let req = &api.req;
    let index = index_param(req)?;
    let key = req
        .non_empty_param("key")
        .ok_or_else(|| ApiError::required_param("key"))?;
    let rows = state
        .store
        .property_values(
            api.project().id,
            ValuesQuery {
                index,
                property: key.to_owned(),
                value_contains: req.non_empty_param("value").map(str::to_owned),
            },
        )
        .await?;
    Ok(Json(json!({
        "results": rows.iter().map(|r| json!({"name": r.name, "count": r.count})).collect::<Vec<_>>(),
        "refreshing": false,
    })))
}
