//! `/api/projects/{project_id}/groups_types/…`: list, create (a groupd extension), rename,
//! default columns, delete. Handlers are scope → parse → store → render, as in `groups.rs`.
use axum::{
    Json, Router,
    extract::{RawPathParams, State, rejection::RawPathParamsRejection},
    http::{StatusCode, Uri},
    response::IntoResponse,
};
use groupd_core::{GroupTypeIndex, Scope, time_fmt::format_us};
use groupd_store::{GroupType, GroupTypeMetadataUpdate, NewGroupType, StoreError, TypeRef};
use serde_json::{Map, Value, json};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    fields::{self, group_type_index_field, optional_string, required_string},
    request::percent_decode,
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

// ------------------------------------------------------------------------------------------------
// Request types

/// The body of `POST /groups_types/`: the type's names.
#[derive(Debug)]
pub struct NewTypeBody {
    /// The name capture uses.
    pub group_type: String,
    /// Display name, singular.
    pub name_singular: Option<String>,
    /// Display name, plural.
    pub name_plural: Option<String>,
}

/// Reads the body of `POST /groups_types/`.
pub fn parse_new_type(body: Value) -> ApiResult<NewTypeBody> {
    let body = fields::object(body)?;
    Ok(NewTypeBody {
        group_type: required_string(&body, "group_type", NAME_MAX)?,
        name_singular: optional_string(&body, "name_singular", NAME_MAX)?.flatten(),
        name_plural: optional_string(&body, "name_plural", NAME_MAX)?.flatten(),
    })
}

/// The body of `PATCH /groups_types/update_metadata`: a list of name changes, applied all or
/// nothing.
#[derive(Debug)]
pub struct TypeMetadataUpdate(pub Vec<GroupTypeMetadataUpdate>);

impl TypeMetadataUpdate {
    /// Reads a JSON array of `{group_type_index, name_singular?, name_plural?}` objects.
    pub fn parse(body: Value) -> ApiResult<Self> {
        let not_a_list = || {
            ApiError::validation(
                "invalid_input",
                "Expected a list of group type objects.",
                None,
            )
        };
        let Value::Array(items) = body else {
            return Err(not_a_list());
        };
        items
            .iter()
            .map(|item| {
                let Value::Object(obj) = item else {
                    return Err(not_a_list());
                };
                Ok(GroupTypeMetadataUpdate {
                    index: group_type_index_field(obj)?,
                    name_singular: display_name(obj, "name_singular")?,
                    name_plural: display_name(obj, "name_plural")?,
                })
            })
            .collect::<ApiResult<_>>()
            .map(Self)
    }
}

/// A display name: absent → unchanged, null or "" → cleared.
fn display_name(obj: &Map<String, Value>, name: &str) -> ApiResult<Option<Option<String>>> {
    if matches!(obj.get(name), Some(Value::String(s)) if s.is_empty()) {
        return Ok(Some(None));
    }
    optional_string(obj, name, NAME_MAX)
}

/// The body of `PUT /groups_types/set_default_columns`.
#[derive(Debug, PartialEq)]
pub struct DefaultColumns {
    /// The type.
    pub index: GroupTypeIndex,
    /// The column names, in order.
    pub columns: Vec<String>,
}

impl DefaultColumns {
    /// Reads `{group_type_index, default_columns: [string…]}`.
    pub fn parse(body: Value) -> ApiResult<Self> {
        let body = fields::object(body)?;
        let index = group_type_index_field(&body)?;
        let not_strings = || ApiError::invalid("default_columns", "Expected a list of strings.");
        let columns = match body.get("default_columns") {
            None => return Err(ApiError::required_field("default_columns")),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.contains('\0') => Ok(s.clone()),
                    _ => Err(not_strings()),
                })
                .collect::<ApiResult<Vec<_>>>()?,
            Some(_) => return Err(not_strings()),
        };
        Ok(Self { index, columns })
    }
}

/// The `{group_type_index}` path segment of `DELETE /groups_types/…`. A segment that is not UTF-8
/// once percent-decoded is the index's fault when it is the last one (400), else the project's
/// (404).
pub fn parse_index_segment(
    params: Result<RawPathParams, RawPathParamsRejection>,
    uri: &Uri,
) -> ApiResult<GroupTypeIndex> {
    let params = params.map_err(|_| undecodable_segment(uri))?;
    let raw = params
        .iter()
        .find(|(k, _)| *k == "group_type_index")
        .map_or("", |(_, v)| v);
    GroupTypeIndex::parse_str(raw).ok_or_else(|| ApiError::not_an_integer("group_type_index"))
}

fn undecodable_segment(uri: &Uri) -> ApiError {
    let last = uri
        .path()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if percent_decode(last).is_none() {
        ApiError::not_an_integer("group_type_index")
    } else {
        ApiError::not_found_with("Project not found.")
    }
}

// ------------------------------------------------------------------------------------------------
// Handlers

/// GET /groups_types/ — the project's types, ordered by index.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups_types/", tag = "groups_types",
    params(("project_id" = String, Path)), responses((status = 200, description = "Group types, by index", body = Vec<super::schema::GroupType>)))]
pub async fn list(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let types = state.store.list_group_types(api.project_id()).await?;
    Ok(types_json(&types))
}

/// POST /groups_types/ — create a type (groupd extension).
#[utoipa::path(post, path = "/api/projects/{project_id}/groups_types/", tag = "groups_types",
    params(("project_id" = String, Path)), request_body = super::schema::NewGroupType,
    responses((status = 201, description = "The new type", body = super::schema::GroupType), (status = 400, body = super::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<impl IntoResponse> {
    api.require(Scope::GroupWrite)?;
    let new = api.parse_body(parse_new_type)?;
    let t = state
        .store
        .create_group_type(
            NewGroupType {
                project: api.project_id(),
                max_group_types: state.config.max_group_types,
                group_type: new.group_type,
                name_singular: new.name_singular,
                name_plural: new.name_plural,
            },
            state.clock.now_us(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(type_json(&t))))
}

/// PATCH /groups_types/update_metadata — rename types, all or nothing.
#[utoipa::path(patch, path = "/api/projects/{project_id}/groups_types/update_metadata", tag = "groups_types",
    params(("project_id" = String, Path)), request_body = Vec<super::schema::GroupTypeNames>,
    responses((status = 200, description = "All types", body = Vec<super::schema::GroupType>), (status = 400, body = super::error::ErrorBody)))]
pub async fn update_metadata(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupWrite)?;
    let TypeMetadataUpdate(updates) = api.parse_body(TypeMetadataUpdate::parse)?;
    let types = state
        .store
        .update_group_type_metadata(api.project_id(), updates)
        .await?;
    Ok(types_json(&types))
}

/// PUT /groups_types/set_default_columns — the columns shown by default.
#[utoipa::path(put, path = "/api/projects/{project_id}/groups_types/set_default_columns", tag = "groups_types",
    params(("project_id" = String, Path)), request_body = super::schema::DefaultColumns,
    responses((status = 200, description = "The type", body = super::schema::GroupType), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn set_default_columns(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupWrite)?;
    let body = api.parse_body(DefaultColumns::parse)?;
    let t = state
        .store
        .set_default_columns(
            TypeRef {
                project: api.project_id(),
                index: body.index,
            },
            body.columns,
        )
        .await
        .map_err(type_not_found)?;
    Ok(Json(type_json(&t)))
}

/// DELETE /groups_types/{group_type_index} — the type, its groups and their activity.
#[utoipa::path(delete, path = "/api/projects/{project_id}/groups_types/{group_type_index}", tag = "groups_types",
    params(("project_id" = String, Path), ("group_type_index" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    api: ProjectApi,
) -> ApiResult<StatusCode> {
    api.require(Scope::GroupWrite)?;
    let index = parse_index_segment(params, &api.req.uri)?;
    state
        .store
        .delete_group_type(api.project_id(), index)
        .await
        .map_err(type_not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A missing type, named as the two routes that address one by index name it.
fn type_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found_with("Group type not found"),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn refused<T: std::fmt::Debug>(r: ApiResult<T>) -> (u16, String, Option<String>) {
        let (status, _, detail, attr) = r.expect_err("refused").describe();
        (status, detail, attr)
    }

    #[test]
    fn a_new_type_needs_a_name_of_at_most_400_characters() {
        let t = parse_new_type(json!({"group_type": "org", "name_plural": null})).unwrap();
        assert_eq!((t.group_type.as_str(), t.name_plural), ("org", None));
        let r = refused(parse_new_type(json!({"group_type": "t".repeat(401)})));
        assert_eq!(r.2.as_deref(), Some("group_type"));
    }

    #[test]
    fn metadata_updates_are_a_list_of_objects_with_an_index() {
        let TypeMetadataUpdate(u) = TypeMetadataUpdate::parse(json!([
            {"group_type_index": 1, "name_singular": "", "name_plural": "squads"}
        ]))
        .unwrap();
        assert_eq!(u[0].index, GroupTypeIndex(1));
        assert_eq!(u[0].name_singular, Some(None), "\"\" clears");
        assert_eq!(u[0].name_plural, Some(Some("squads".into())));
        for body in [json!({}), json!([1]), json!([[]])] {
            let r = refused(TypeMetadataUpdate::parse(body.clone()));
            assert_eq!(
                (r.1.as_str(), r.2),
                ("Expected a list of group type objects.", None),
                "{body}"
            );
        }
        let r = refused(TypeMetadataUpdate::parse(json!([{"name_singular": "x"}])));
        assert_eq!(r.2.as_deref(), Some("group_type_index"));
    }

    #[test]
    fn default_columns_are_strings_without_nul() {
        let c = DefaultColumns::parse(json!({"group_type_index": 0, "default_columns": ["a"]}))
            .unwrap();
        assert_eq!(c.columns, ["a"]);
        for cols in [json!("a"), json!([1]), json!(["\u{0}"]), json!(null)] {
            let r = refused(DefaultColumns::parse(
                json!({"group_type_index": 0, "default_columns": cols}),
            ));
            assert_eq!(r.2.as_deref(), Some("default_columns"), "{cols}");
        }
        let r = refused(DefaultColumns::parse(json!({"group_type_index": 0})));
        assert_eq!(r.1, "This field is required.");
    }

    #[test]
    fn an_undecodable_last_segment_is_the_index_and_any_other_the_project() {
        let uri: Uri = "/api/projects/1/groups_types/0%FF".parse().unwrap();
        assert_eq!(undecodable_segment(&uri).describe().0, 400);
        let uri: Uri = "/api/projects/%FF/groups_types/0".parse().unwrap();
        assert_eq!(undecodable_segment(&uri).describe().0, 404);
    }
}
