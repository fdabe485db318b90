//! `/api/projects/{project_id}/groups/…`: list, find, create, update and delete a property,
//! activity, property definitions and values.
//!
//! Every handler is scope → parse → store → render. The request types below turn query
//! parameters and bodies into checked values with DRF's messages, in the order the contract
//! checks them (query parameters, then existence, then the body).
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use groupd_core::{
    GroupKey, GroupTypeIndex, Scope, cursor::Cursor, merge::PropOp, time_fmt::format_us,
};
use groupd_store::{
    self as store, ActivityEntry, Change, Group, GroupListQuery, GroupRef, PropertyEdit,
    ValuesQuery,
};
use serde_json::{Map, Value, json};

use super::{
    auth::ProjectApi,
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

// ------------------------------------------------------------------------------------------------
// Request types

const LIST_INDEX_REQUIRED: &str = "You must pass ?group_type_index= in this URL. To get a list of valid group types, call /api/:project_id/groups_types/.";

/// The query of `GET /groups/`.
#[derive(Debug, PartialEq)]
pub struct ListParams {
    /// `group_type_index`, required.
    pub index: GroupTypeIndex,
    /// Rows per page, 1–1000 (default 100).
    pub limit: u64,
    /// Whether the client chose the limit (then `next` repeats it).
    pub limit_given: bool,
    /// `search` as given (non-empty).
    pub search: Option<String>,
    /// `group_key` as given (non-empty).
    pub key_contains: Option<String>,
    /// Where the page starts; an undecodable cursor serves the first page.
    pub after: Option<Cursor>,
    /// `as_of` (µs), when given and not in the future.
    pub as_of: Option<i64>,
    /// Whether the index came from the path (`/groups_types/:index/groups/`): `next` keeps the
    /// path and leaves `group_type_index` out.
    pub path_index: bool,
}

/// Reads `as_of` (RFC 3339): `None` when absent or not in the past (a future time reads as now).
pub fn as_of_param(req: &RequestInfo, now_us: i64) -> ApiResult<Option<i64>> {
    let Some(raw) = req.non_empty_param("as_of") else {
        return Ok(None);
    };
    let t = groupd_core::time_fmt::parse_rfc3339_us(raw).ok_or_else(|| {
        ApiError::invalid(
            "as_of",
            "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
        )
    })?;
    Ok((t < now_us).then_some(t))
}

impl ListParams {
    /// Reads and checks the query parameters.
    pub fn parse(req: &RequestInfo) -> ApiResult<Self> {
        Self::parse_with(req, None)
    }

    /// Reads and checks the query parameters, the index taken from the path when given.
    pub fn parse_with(req: &RequestInfo, path_index: Option<GroupTypeIndex>) -> ApiResult<Self> {
        let index = match (path_index, req.non_empty_param("group_type_index")) {
            (Some(i), _) => i,
            (None, None) => return Err(ApiError::invalid("group_type_index", LIST_INDEX_REQUIRED)),
            (None, Some(raw)) => GroupTypeIndex::parse_str(raw)
                .ok_or_else(|| ApiError::not_an_integer("group_type_index"))?,
        };
        let limit_param = req.non_empty_param("limit");
        let limit = match limit_param.map(groupd_core::parse_int) {
            None => 100,
            Some(Some(n @ 1..=1000)) => n as u64,
            Some(_) => {
                return Err(ApiError::invalid(
                    "limit",
                    "Ensure this value is an integer between 1 and 1000.",
                ));
            }
        };
        Ok(Self {
            index,
            limit,
            limit_given: limit_param.is_some(),
            search: req.non_empty_param("search").map(str::to_owned),
            key_contains: req.non_empty_param("group_key").map(str::to_owned),
            after: req.non_empty_param("cursor").and_then(Cursor::decode),
            as_of: None,
            path_index: path_index.is_some(),
        })
    }

    /// The store's query: one row more than the page, to know whether another page follows.
    fn store_query(&self) -> GroupListQuery {
        GroupListQuery {
            index: self.index,
            search: self.search.clone(),
            key_contains: self.key_contains.clone(),
            after: self.after.clone(),
            limit: self.limit + 1,
            as_of: self.as_of,
        }
    }

    /// The absolute URL of the page after `last`, keeping the filters.
    fn next_url(&self, req: &RequestInfo, last: &Group) -> String {
        let cursor = Cursor {
            created_at_us: last.created_at,
            key: last.key.as_str().to_owned(),
        };
        let mut params = Vec::new();
        if !self.path_index {
            params.push(("group_type_index", self.index.to_string()));
        }
        params.push(("cursor", cursor.encode()));
        if let Some(s) = &self.search {
            params.push(("search", s.clone()));
        }
        if let Some(k) = &self.key_contains {
            params.push(("group_key", k.clone()));
        }
        if self.limit_given {
            params.push(("limit", self.limit.to_string()));
        }
        if let Some(raw) = req
            .non_empty_param("as_of")
            .filter(|_| self.as_of.is_some())
        {
            params.push(("as_of", raw.to_owned()));
        }
        req.url_with(&params)
    }
}

/// The group a request addresses by the `group_type_index` and `group_key` (or `id`) query
/// parameters.
#[derive(Debug, PartialEq)]
pub struct GroupAddress {
    /// The type index.
    pub index: GroupTypeIndex,
    /// The key.
    pub key: GroupKey,
}

impl GroupAddress {
    /// Reads the address; the key is the first of `key_params` present. A key that cannot be
    /// valid cannot exist either: 404.
    pub fn parse(req: &RequestInfo, key_params: &[&str]) -> ApiResult<Self> {
        if req.non_empty_param("group_type_index").is_none() {
            return Err(ApiError::required_param("group_type_index"));
        }
        let key = key_params
            .iter()
            .find_map(|p| req.non_empty_param(p))
            .ok_or_else(|| ApiError::required_param("group_key"))?;
        let index = index_param(req)?;
        let key = GroupKey::parse(key).map_err(|_| ApiError::not_found())?;
        Ok(Self { index, key })
    }
}

/// The body of `POST /groups/`.
#[derive(Debug, PartialEq)]
pub struct NewGroup {
    /// The type index.
    pub index: GroupTypeIndex,
    /// The key.
    pub key: GroupKey,
    /// The initial properties (`null` or absent: none).
    pub properties: Map<String, Value>,
}

impl NewGroup {
    /// Reads and checks the body.
    pub fn parse(body: Value) -> ApiResult<Self> {
        let body = fields::object(body)?;
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
        Ok(Self {
            index,
            key,
            properties,
        })
    }
}

/// The body of `update_property` (a set) or `delete_property` (an unset).
#[derive(Debug, PartialEq)]
pub struct PropertyUpdate {
    /// The property's name.
    pub property: String,
    /// What to do with it.
    pub op: PropOp,
}

impl PropertyUpdate {
    /// `{"key": name, "value": v}`: set `name` to `v` (a number key is its text).
    pub fn parse_set(body: Value) -> ApiResult<Self> {
        let body = fields::object(body)?;
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
        Ok(Self {
            property,
            op: PropOp::Set(value),
        })
    }

    /// `{"$unset": name}`: remove `name`. Whether the group has it is the store's (atomic) check.
    pub fn parse_unset(body: Value) -> ApiResult<Self> {
        match fields::object(body)?.remove("$unset") {
            Some(Value::String(property)) => Ok(Self {
                property,
                op: PropOp::Unset,
            }),
            _ => Err(ApiError::invalid(
                "$unset",
                "This field is required and must be a string (the property name to delete).",
            )),
        }
    }
}

/// The paging of `GET /groups/activity`.
#[derive(Debug, PartialEq)]
pub struct ActivityPage {
    /// 1-based page number.
    pub page: u64,
    /// Entries per page, at most 1000.
    pub limit: u64,
}

impl ActivityPage {
    /// Reads `page` (default 1) and `limit` (default 10).
    pub fn parse(req: &RequestInfo) -> ApiResult<Self> {
        Ok(Self {
            page: positive_param(req, "page", 1)?,
            limit: positive_param(req, "limit", 10)?.min(1000),
        })
    }

    fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.limit)
    }
}

/// The query of `GET /groups/property_values`.
#[derive(Debug, PartialEq)]
pub struct ValuesParams {
    /// The type index.
    pub index: GroupTypeIndex,
    /// The property's name.
    pub key: String,
    /// A substring the values must contain.
    pub value: Option<String>,
}

impl ValuesParams {
    /// Reads and checks the query parameters.
    pub fn parse(req: &RequestInfo) -> ApiResult<Self> {
        let index = index_param(req)?;
        let key = req
            .non_empty_param("key")
            .ok_or_else(|| ApiError::required_param("key"))?;
        Ok(Self {
            index,
            key: key.to_owned(),
            value: req.non_empty_param("value").map(str::to_owned),
        })
    }
}

// ------------------------------------------------------------------------------------------------
// Handlers

/// GET /groups/ — one page of a type's groups.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/", tag = "groups",
    params(("project_id" = String, Path, description = "Project id or @current"),
           ("group_type_index" = i64, Query), ("search" = Option<String>, Query),
           ("group_key" = Option<String>, Query), ("cursor" = Option<String>, Query),
           ("limit" = Option<u32>, Query, description = "1–1000, default 100 (groupd extension)")),
    responses((status = 200, description = "A page of groups", body = super::schema::GroupPage), (status = 400, body = super::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let params = ListParams::parse(&api.req)?;
    list_page(&state, &api, params).await
}

/// A list page for checked parameters (both list routes).
pub(super) async fn list_page(
    state: &AppState,
    api: &ProjectApi,
    mut params: ListParams,
) -> ApiResult<Response> {
    params.as_of = as_of_param(&api.req, state.clock.now_us())?;
    let rows = state
        .store
        .list_groups(api.project_id(), params.store_query())
        .await?;
    render_page(&params, &api.req, rows)
}

/// POST /groups/ — create a group.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/", tag = "groups",
    params(("project_id" = String, Path)), request_body = super::schema::NewGroup,
    responses((status = 201, description = "The new group", body = super::schema::Group), (status = 400, body = super::error::ErrorBody)))]
pub async fn create(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Response> {
    api.require(Scope::GroupWrite)?;
    let new = api.parse_body(NewGroup::parse)?;
    let group = state
        .store
        .create_group(
            store::NewGroup {
                group: GroupRef {
                    project: api.project_id(),
                    index: new.index,
                    key: new.key,
                },
                properties: new.properties,
            },
            change(&state, &api),
        )
        .await?;
    Ok(group_response(StatusCode::CREATED, &group, false))
}

/// Who makes a REST change, and when.
pub(super) fn change(state: &AppState, api: &ProjectApi) -> Change {
    Change::api(api.actor(), state.clock.now_us())
}

/// The group `addr` names, 404 when there is none.
pub(super) async fn find_group(
    state: &AppState,
    api: &ProjectApi,
    addr: &GroupAddress,
) -> ApiResult<Group> {
    state
        .store
        .find_group(&GroupRef {
            project: api.project_id(),
            index: addr.index,
            key: addr.key.clone(),
        })
        .await?
        .ok_or_else(ApiError::not_found)
}

/// GET /groups/find — one group.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/find", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query)),
    responses((status = 200, description = "The group, with `notebook: null`", body = super::schema::Group), (status = 404, body = super::error::ErrorBody)))]
pub async fn find(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let addr = GroupAddress::parse(&api.req, &["group_key"])?;
    find_response(&state, &api, &addr).await
}

/// The group `addr` names, as of `as_of` when given (both find routes).
pub(super) async fn find_response(
    state: &AppState,
    api: &ProjectApi,
    addr: &GroupAddress,
) -> ApiResult<Response> {
    let group = match as_of_param(&api.req, state.clock.now_us())? {
        None => find_group(state, api, addr).await?,
        Some(t) => state
            .store
            .find_group_as_of(
                &GroupRef {
                    project: api.project_id(),
                    index: addr.index,
                    key: addr.key.clone(),
                },
                t,
            )
            .await?
            .ok_or_else(ApiError::not_found)?,
    };
    Ok(group_response(StatusCode::OK, &group, true))
}

/// POST /groups/update_property — set one property.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/update_property", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query)),
    request_body = super::schema::SetProperty,
    responses((status = 200, description = "The updated group", body = super::schema::Group), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn update_property(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<Response> {
    change_property(state, api, PropertyUpdate::parse_set).await
}

/// POST /groups/delete_property — remove one property.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/delete_property", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query)),
    request_body = super::schema::UnsetProperty,
    responses((status = 200, description = "The group without the property", body = super::schema::Group), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_property(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<Response> {
    change_property(state, api, PropertyUpdate::parse_unset).await
}

/// Both property routes: the group must exist before its body is read (404 before a body 400).
async fn change_property(
    state: AppState,
    api: ProjectApi,
    parse: fn(Value) -> ApiResult<PropertyUpdate>,
) -> ApiResult<Response> {
    api.require(Scope::GroupWrite)?;
    let addr = GroupAddress::parse(&api.req, &["group_key"])?;
    let group = find_group(&state, &api, &addr).await?;
    let update = api.parse_body(parse)?;
    let updated = state
        .store
        .update_group_property(
            PropertyEdit {
                group: GroupRef {
                    project: api.project_id(),
                    index: group.index,
                    key: group.key,
                },
                property: update.property,
                op: update.op,
            },
            change(&state, &api),
        )
        .await?;
    Ok(group_response(StatusCode::OK, &updated, false))
}

/// GET /groups/activity — a group's change history, newest first.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/activity", tag = "groups",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query),
           ("page" = Option<u32>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "Activity entries", body = super::schema::ActivityPage), (status = 404, body = super::error::ErrorBody)))]
pub async fn activity(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::ActivityLogRead)?;
    let page = ActivityPage::parse(&api.req)?;
    let addr = GroupAddress::parse(&api.req, &["group_key", "id"])?;
    // A deleted group's activity stays readable, its deletion first.
    let group_id = state
        .store
        .activity_group_id(&GroupRef {
            project: api.project_id(),
            index: addr.index,
            key: addr.key.clone(),
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    let (entries, total) = state
        .store
        .group_activity(
            api.project_id(),
            store::ActivityPage {
                group_id,
                offset: page.offset(),
                limit: page.limit,
            },
        )
        .await?;
    Ok(Json(render_activity(&page, &api.req, &entries, total)))
}

/// GET /groups/property_definitions — property names per type with group counts.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/property_definitions", tag = "groups",
    params(("project_id" = String, Path)), responses((status = 200, description = "Names per type index", body = super::schema::PropertyNamesByType)))]
pub async fn property_definitions(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let rows = state.store.property_definitions(api.project_id()).await?;
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
    responses((status = 200, description = "Values with counts", body = super::schema::PropertyValues), (status = 400, body = super::error::ErrorBody)))]
pub async fn property_values(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let q = ValuesParams::parse(&api.req)?;
    let rows = state
        .store
        .property_values(
            api.project_id(),
            ValuesQuery {
                index: q.index,
                property: q.key,
                value_contains: q.value,
            },
        )
        .await?;
    Ok(Json(json!({
        "results": rows.iter().map(|r| json!({"name": r.name, "count": r.count})).collect::<Vec<_>>(),
        "refreshing": false,
    })))
}

// ------------------------------------------------------------------------------------------------
// Rendering

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
fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The group object as a response.
pub(super) fn group_response(status: StatusCode, g: &Group, notebook: bool) -> Response {
    let mut body = Vec::with_capacity(g.properties_json.len() + 128);
    write_group(&mut body, g, notebook);
    json_bytes(status, body)
}

/// A list page from `rows` (the store's page plus, when another follows, one row more).
fn render_page(
    params: &ListParams,
    req: &RequestInfo,
    mut rows: Vec<Group>,
) -> ApiResult<Response> {
    let more = rows.len() as u64 > params.limit;
    rows.truncate(params.limit as usize);
    let next = match rows.last() {
        Some(last) if more => Value::String(params.next_url(req, last)),
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

/// One activity page with `next`/`previous` links and the total count.
fn render_activity(
    page: &ActivityPage,
    req: &RequestInfo,
    entries: &[ActivityEntry],
    total: u64,
) -> Value {
    let link = |p: u64| Value::String(page_link(req, p));
    let next = if page.offset().saturating_add(page.limit) < total {
        link(page.page + 1)
    } else {
        Value::Null
    };
    let previous = if page.page > 1 {
        link(page.page - 1)
    } else {
        Value::Null
    };
    json!({
        "results": entries.iter().map(activity_json).collect::<Vec<_>>(),
        "next": next,
        "previous": previous,
        "total_count": total,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path_and_query: &str) -> RequestInfo {
        RequestInfo::for_test(path_and_query)
    }

    #[track_caller]
    fn refused<T: std::fmt::Debug>(r: ApiResult<T>) -> (u16, &'static str, String, Option<String>) {
        r.expect_err("refused").describe()
    }

    #[test]
    fn list_params_need_an_integer_index_and_a_limit_in_range() {
        let r = refused(ListParams::parse(&req("/g/")));
        assert_eq!(
            (r.0, r.2.as_str(), r.3.as_deref()),
            (400, LIST_INDEX_REQUIRED, Some("group_type_index"))
        );
        let r = refused(ListParams::parse(&req("/g/?group_type_index=1.5")));
        assert_eq!(r.2, "A valid integer is required.");
        for bad in ["0", "1001", "x", "-1"] {
            let r = refused(ListParams::parse(&req(&format!(
                "/g/?group_type_index=0&limit={bad}"
            ))));
            assert_eq!(r.3.as_deref(), Some("limit"), "{bad}");
        }
        let p = ListParams::parse(&req(
            "/g/?group_type_index=2&search=Acme&group_key=&cursor=%%",
        ))
        .unwrap();
        assert_eq!(
            p,
            ListParams {
                index: GroupTypeIndex(2),
                limit: 100,
                limit_given: false,
                search: Some("Acme".into()),
                key_contains: None,
                after: None,
                as_of: None,
                path_index: false,
            }
        );
        // The store lower-cases the text itself: it goes there as the user typed it.
        assert_eq!(p.store_query().search.as_deref(), Some("Acme"));
        assert_eq!(p.store_query().limit, 101);
    }

    #[test]
    fn a_group_address_checks_index_presence_then_key_then_index_form() {
        let r = refused(GroupAddress::parse(&req("/f?group_key=a"), &["group_key"]));
        assert_eq!(r.3.as_deref(), Some("group_type_index"));
        let r = refused(GroupAddress::parse(
            &req("/f?group_type_index=x"),
            &["group_key"],
        ));
        assert_eq!(
            (r.2.as_str(), r.3.as_deref()),
            ("This query parameter is required.", Some("group_key"))
        );
        let r = refused(GroupAddress::parse(
            &req("/f?group_type_index=x&group_key=a"),
            &["group_key"],
        ));
        assert_eq!(r.2, "A valid integer is required.");
        let long = "k".repeat(401);
        let r = refused(GroupAddress::parse(
            &req(&format!("/f?group_type_index=0&group_key={long}")),
            &["group_key"],
        ));
        assert_eq!(r.0, 404, "a key too long to exist is not found");
        let a = GroupAddress::parse(&req("/f?group_type_index=0&id=acme"), &["group_key", "id"])
            .unwrap();
        assert_eq!(a.key.as_str(), "acme");
    }

    #[test]
    fn a_new_group_refuses_bad_properties() {
        let r = refused(NewGroup::parse(
            json!({"group_type_index": 0, "group_key": "a", "group_properties": [1]}),
        ));
        assert_eq!(
            (r.2.as_str(), r.3.as_deref()),
            (
                "Expected a dictionary of items but got type \"list\".",
                Some("group_properties")
            )
        );
        let r = refused(NewGroup::parse(
            json!({"group_type_index": 0, "group_key": "a", "group_properties": {"x": ["\u{0}"]}}),
        ));
        assert_eq!(r.2, "Null characters are not allowed.");
        let g = NewGroup::parse(json!({"group_type_index": "1", "group_key": 7})).unwrap();
        assert_eq!((g.index, g.key.as_str()), (GroupTypeIndex(1), "7"));
        assert!(g.properties.is_empty());
    }

    #[test]
    fn property_updates_read_drf_fields() {
        let set = PropertyUpdate::parse_set(json!({"key": 5, "value": [1]})).unwrap();
        assert_eq!(
            set,
            PropertyUpdate {
                property: "5".into(),
                op: PropOp::Set(json!([1]))
            }
        );
        for (body, attr) in [
            (json!({"value": 1}), "key"),
            (json!({"key": "", "value": 1}), "key"),
            (json!({"key": "a", "value": null}), "value"),
            (json!({"key": "a\u{0}", "value": 1}), "key"),
            (json!({"key": "a", "value": {"\u{0}": 1}}), "value"),
        ] {
            let r = refused(PropertyUpdate::parse_set(body.clone()));
            assert_eq!(r.3.as_deref(), Some(attr), "{body}");
        }
        let unset = PropertyUpdate::parse_unset(json!({"$unset": "plan"})).unwrap();
        assert_eq!(unset.op, PropOp::Unset);
        let r = refused(PropertyUpdate::parse_unset(json!({"$unset": ["plan"]})));
        assert_eq!(r.3.as_deref(), Some("$unset"));
        let r = refused(PropertyUpdate::parse_unset(json!([1])));
        assert_eq!(
            (r.2.as_str(), r.3),
            ("Invalid data. Expected a dictionary, but got list.", None)
        );
    }

    #[test]
    fn activity_pages_default_and_cap() {
        assert_eq!(
            ActivityPage::parse(&req("/a")).unwrap(),
            ActivityPage { page: 1, limit: 10 }
        );
        let p = ActivityPage::parse(&req("/a?page=3&limit=5000")).unwrap();
        assert_eq!((p.limit, p.offset()), (1000, 2000));
        let r = refused(ActivityPage::parse(&req("/a?page=0")));
        assert_eq!(
            (r.2.as_str(), r.3.as_deref()),
            (
                "Ensure this value is greater than or equal to 1.",
                Some("page")
            )
        );
    }

    #[test]
    fn values_params_need_a_key() {
        let r = refused(ValuesParams::parse(&req("/v?group_type_index=0")));
        assert_eq!(r.3.as_deref(), Some("key"));
        let q = ValuesParams::parse(&req("/v?group_type_index=0&key=plan&value=")).unwrap();
        assert_eq!((q.key.as_str(), q.value), ("plan", None));
    }
}
