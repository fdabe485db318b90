//! `/groups_types/{index}/groups/…`: the RESTful aliases of the query-parameter group routes
//! (lifecycle.md): list, find, a multi-property `PATCH`, `DELETE` and the property history of one
//! group addressed by path. Each reuses the query-parameter route's code; only the address is
//! read differently.
use axum::{
    Router,
    extract::{RawPathParams, State, rejection::RawPathParamsRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use groupd_core::{GroupKey, GroupTypeIndex, Scope};
use groupd_store::{GroupPatch, GroupRef};
use serde_json::{Map, Value};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    fields::{self, has_nul},
    group_types::parse_index_segment,
    groups::{
        GroupAddress, ListParams, change, find_group, find_response, group_response, list_page,
    },
    lifecycle::{delete_one, history_response},
    routes::route,
};
use crate::state::AppState;

/// The routes of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    const ONE: &str = "/groups_types/{group_type_index}/groups/{group_key}";
    Router::new()
        .merge(route("/groups_types/{group_type_index}/groups", get(list)))
        .merge(route(ONE, get(find).patch(patch).delete(remove)))
        .merge(route(&format!("{ONE}/history"), get(history)))
}

type Params = Result<RawPathParams, RawPathParamsRejection>;

/// The group the path names: a non-integer index is a 400, a key that cannot exist a 404.
fn address(params: Params, api: &ProjectApi) -> ApiResult<GroupAddress> {
    let params = params.map_err(|_| ApiError::not_found())?;
    let raw_index = params
        .iter()
        .find(|(k, _)| *k == "group_type_index")
        .map_or("", |(_, v)| v);
    let index = GroupTypeIndex::parse_str(raw_index)
        .ok_or_else(|| ApiError::not_an_integer("group_type_index"))?;
    let key = params
        .iter()
        .find(|(k, _)| *k == "group_key")
        .map_or("", |(_, v)| v);
    let key = GroupKey::parse(key).map_err(|_| ApiError::not_found())?;
    let _ = api;
    Ok(GroupAddress { index, key })
}

/// GET /groups_types/{index}/groups/ — the list of the type (same parameters as `GET /groups/`).
#[utoipa::path(get, path = "/api/projects/{project_id}/groups_types/{group_type_index}/groups/", tag = "group_paths",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("search" = Option<String>, Query),
           ("group_key" = Option<String>, Query), ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query),
           ("as_of" = Option<String>, Query, description = "RFC 3339: the groups as they were then")),
    responses((status = 200, description = "A page of groups", body = super::schema::GroupPage), (status = 400, body = super::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    params: Params,
    api: ProjectApi,
) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let index = parse_index_segment(params, &api.req.uri)?;
    let params = ListParams::parse_with(&api.req, Some(index))?;
    list_page(&state, &api, params).await
}

/// GET /groups_types/{index}/groups/{key} — one group (`as_of` as on `find`).
#[utoipa::path(get, path = "/api/projects/{project_id}/groups_types/{group_type_index}/groups/{group_key}", tag = "group_paths",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("group_key" = String, Path),
           ("as_of" = Option<String>, Query)),
    responses((status = 200, description = "The group", body = super::schema::Group), (status = 404, body = super::error::ErrorBody)))]
pub async fn find(
    State(state): State<AppState>,
    params: Params,
    api: ProjectApi,
) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let addr = address(params, &api)?;
    find_response(&state, &api, &addr).await
}

/// The body of `PATCH`: `{"$set": {…}, "$unset": ["k", …]}`.
#[derive(Debug, PartialEq)]
pub struct PatchBody {
    /// Properties to set.
    pub set: Map<String, Value>,
    /// Properties to remove.
    pub unset: Vec<String>,
}

impl PatchBody {
    /// Reads and checks the body.
    pub fn parse(body: Value) -> ApiResult<Self> {
        let body = fields::object(body)?;
        let set = match body.get("$set") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(ApiError::invalid(
                    "$set",
                    format!(
                        "Expected a dictionary of items but got type \"{}\".",
                        fields::json_type_name(other)
                    ),
                ));
            }
        };
        if set
            .iter()
            .any(|(k, v)| k.is_empty() || k.contains('\0') || has_nul(v))
        {
            return Err(ApiError::invalid(
                "$set",
                "Property names must be non-empty and no text may hold a null character.",
            ));
        }
        let unset = match body.get("$unset") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.contains('\0') => Ok(s.clone()),
                    _ => Err(ApiError::invalid(
                        "$unset",
                        "Expected a list of property names.",
                    )),
                })
                .collect::<ApiResult<Vec<_>>>()?,
            Some(_) => {
                return Err(ApiError::invalid(
                    "$unset",
                    "Expected a list of property names.",
                ));
            }
        };
        if let Some(both) = unset.iter().find(|u| set.contains_key(*u)) {
            return Err(ApiError::invalid(
                "$unset",
                format!("Property '{both}' cannot be both set and unset."),
            ));
        }
        Ok(Self { set, unset })
    }
}

/// PATCH /groups_types/{index}/groups/{key} — several properties at once, all or nothing.
#[utoipa::path(patch, path = "/api/projects/{project_id}/groups_types/{group_type_index}/groups/{group_key}", tag = "group_paths",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("group_key" = String, Path)), request_body = super::schema::GroupPatch,
    responses((status = 200, description = "The group", body = super::schema::Group), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    params: Params,
    api: ProjectApi,
) -> ApiResult<Response> {
    api.require(Scope::GroupWrite)?;
    let addr = address(params, &api)?;
    // 404 before a body 400, as on the other property routes.
    let group = find_group(&state, &api, &addr).await?;
    let body = api.parse_body(PatchBody::parse)?;
    let updated = state
        .store
        .patch_group(
            GroupPatch {
                group: GroupRef {
                    project: api.project_id(),
                    index: group.index,
                    key: group.key,
                },
                set: body.set,
                unset: body.unset,
            },
            change(&state, &api),
        )
        .await?;
    Ok(group_response(StatusCode::OK, &updated, false))
}

/// DELETE /groups_types/{index}/groups/{key} — 204, or 404 for no such group.
#[utoipa::path(delete, path = "/api/projects/{project_id}/groups_types/{group_type_index}/groups/{group_key}", tag = "group_paths",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("group_key" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    params: Params,
    api: ProjectApi,
) -> ApiResult<Response> {
    api.require(Scope::GroupWrite)?;
    let addr = address(params, &api)?;
    delete_one(&state, &api, addr).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// GET /groups_types/{index}/groups/{key}/history — the group's property history.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups_types/{group_type_index}/groups/{group_key}/history", tag = "group_paths",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path), ("group_key" = String, Path),
           ("property" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "Versions, newest first", body = super::schema::PropertyVersionPage), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    params: Params,
    api: ProjectApi,
) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let addr = address(params, &api)?;
    history_response(&state, &api, addr).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_patch_body_refuses_bad_shapes_and_a_property_both_set_and_unset() {
        let ok = PatchBody::parse(json!({"$set": {"a": 1}, "$unset": ["b"]})).unwrap();
        assert_eq!((ok.set.len(), ok.unset), (1, vec!["b".to_owned()]));
        for (body, attr) in [
            (json!({"$set": [1]}), "$set"),
            (json!({"$unset": "b"}), "$unset"),
            (json!({"$unset": [1]}), "$unset"),
            (json!({"$set": {"a": 1}, "$unset": ["a"]}), "$unset"),
            (json!({"$set": {"a": "\u{0}"}}), "$set"),
        ] {
            let e = PatchBody::parse(body.clone()).expect_err("refused");
            assert_eq!(e.describe().3.as_deref(), Some(attr), "{body}");
        }
    }
}
