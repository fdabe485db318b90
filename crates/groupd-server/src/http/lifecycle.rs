//! Deleting groups (one, the `delete_group` alias, in bulk) and property history
//! (`/groups/property_history`), per lifecycle.md. The path routes in `group_paths.rs` call in here.
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use groupd_core::{GroupKey, Scope, time_fmt::format_us};
use groupd_store::{GroupDeletion, GroupRef, HistoryQuery, PropertyVersion};
use serde_json::{Value, json};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    fields::{self, group_type_index_field},
    groups::{GroupAddress, change},
    routes::route,
};
use crate::state::AppState;

/// Most keys one bulk deletion takes.
pub const BULK_DELETE_MAX: usize = 1000;

/// The routes of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .merge(route("/groups/delete_group", post(delete_group)))
        .merge(route("/groups/bulk_delete", post(bulk_delete)))
        .merge(route("/groups/property_history", get(property_history)))
}

/// Deletes one group: 404 when there is none.
pub(super) async fn delete_one(
    state: &AppState,
    api: &ProjectApi,
    addr: GroupAddress,
) -> ApiResult<()> {
    let out = state
        .store
        .delete_groups(
            GroupDeletion {
                project: api.project_id(),
                index: addr.index,
                keys: vec![addr.key],
            },
            change(state, api),
        )
        .await?;
    if out.deleted.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// POST /groups/delete_group?group_type_index=…&group_key=… — 204.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/delete_group", tag = "lifecycle",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_group(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Response> {
    api.require(Scope::GroupWrite)?;
    let addr = GroupAddress::parse(&api.req, &["group_key"])?;
    delete_one(&state, &api, addr).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `bulk_delete`.
#[derive(Debug, PartialEq)]
pub struct BulkDelete {
    /// The type.
    pub index: groupd_core::GroupTypeIndex,
    /// 1–1000 keys, as given.
    pub keys: Vec<String>,
}

impl BulkDelete {
    /// Reads and checks the body.
    pub fn parse(body: Value) -> ApiResult<Self> {
        let body = fields::object(body)?;
        let index = group_type_index_field(&body)?;
        let bad = || {
            ApiError::invalid(
                "group_keys",
                format!("Expected a list of 1 to {BULK_DELETE_MAX} group keys."),
            )
        };
        let Some(Value::Array(items)) = body.get("group_keys") else {
            return Err(bad());
        };
        if items.is_empty() || items.len() > BULK_DELETE_MAX {
            return Err(bad());
        }
        let keys = items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(bad()),
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Self { index, keys })
    }
}

/// POST /groups/bulk_delete — up to 1000 groups of one type in one transaction.
#[utoipa::path(post, path = "/api/projects/{project_id}/groups/bulk_delete", tag = "lifecycle",
    params(("project_id" = String, Path)), request_body = super::schema::BulkDelete,
    responses((status = 200, description = "Which keys were deleted", body = super::schema::BulkDeleted), (status = 400, body = super::error::ErrorBody)))]
pub async fn bulk_delete(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupWrite)?;
    let body = api.parse_body(BulkDelete::parse)?;
    // A key that cannot be valid names no group.
    let (valid, invalid): (Vec<_>, Vec<_>) = body
        .keys
        .iter()
        .map(|k| (k, GroupKey::parse(k).ok()))
        .partition(|(_, k)| k.is_some());
    let out = state
        .store
        .delete_groups(
            GroupDeletion {
                project: api.project_id(),
                index: body.index,
                keys: valid.into_iter().filter_map(|(_, k)| k).collect(),
            },
            change(&state, &api),
        )
        .await?;
    let mut not_found = out.not_found;
    not_found.extend(invalid.into_iter().map(|(k, _)| k.clone()));
    Ok(Json(
        json!({"deleted": out.deleted, "not_found": not_found}),
    ))
}

/// GET /groups/property_history?group_type_index=…&group_key=…
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/property_history", tag = "lifecycle",
    params(("project_id" = String, Path), ("group_type_index" = i64, Query), ("group_key" = String, Query),
           ("property" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "Versions, newest first", body = super::schema::PropertyVersionPage), (status = 400, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
pub async fn property_history(
    State(state): State<AppState>,
    api: ProjectApi,
) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let addr = GroupAddress::parse(&api.req, &["group_key"])?;
    history_response(&state, &api, addr).await
}

/// The history page cursor: an offset, opaque to clients.
fn encode_cursor(offset: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("h:{offset}"))
}

fn decode_cursor(raw: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("h:")?
        .parse()
        .ok()
}

/// One page of a group's history (both history routes).
pub(super) async fn history_response(
    state: &AppState,
    api: &ProjectApi,
    addr: GroupAddress,
) -> ApiResult<Response> {
    let req = &api.req;
    let limit = match req.non_empty_param("limit").map(groupd_core::parse_int) {
        None => 100,
        Some(Some(n @ 1..=1000)) => n as u64,
        Some(_) => {
            return Err(ApiError::invalid(
                "limit",
                "Ensure this value is an integer between 1 and 1000.",
            ));
        }
    };
    let offset = match req.non_empty_param("cursor") {
        None => 0,
        Some(c) => decode_cursor(c).ok_or_else(|| ApiError::invalid("cursor", "Invalid cursor"))?,
    };
    let property = req.non_empty_param("property").map(str::to_owned);
    let rows = state
        .store
        .property_history(HistoryQuery {
            group: GroupRef {
                project: api.project_id(),
                index: addr.index,
                key: addr.key,
            },
            property,
            offset,
            limit: limit + 1,
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    let more = rows.len() as u64 > limit;
    let next = if more {
        let mut params: Vec<(&str, String)> = req
            .query
            .iter()
            .filter(|(k, _)| k != "cursor" && k != "personal_api_key")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        params.push(("cursor", encode_cursor(offset + limit)));
        Value::String(req.url_with(&params))
    } else {
        Value::Null
    };
    let results: Vec<Value> = rows.iter().take(limit as usize).map(version_json).collect();
    Ok(Json(json!({"results": results, "next": next})).into_response())
}

fn version_json(v: &PropertyVersion) -> Value {
    json!({
        "property": v.property,
        "op": v.op.as_str(),
        "value": v.value,
        "previous_value": v.previous_value,
        "event_time": format_us(v.event_time),
        "recorded_at": format_us(v.recorded_at),
        "source": v.source.to_json(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_delete_takes_one_to_a_thousand_keys() {
        let ok = BulkDelete::parse(json!({"group_type_index": 0, "group_keys": ["a", 7]})).unwrap();
        assert_eq!(ok.keys, ["a", "7"]);
        let many: Vec<String> = (0..=BULK_DELETE_MAX).map(|i| i.to_string()).collect();
        for body in [
            json!({"group_type_index": 0, "group_keys": []}),
            json!({"group_type_index": 0, "group_keys": many}),
            json!({"group_type_index": 0, "group_keys": "a"}),
            json!({"group_type_index": 0}),
        ] {
            let e = BulkDelete::parse(body).expect_err("refused");
            assert_eq!(e.describe().3.as_deref(), Some("group_keys"));
        }
    }

    #[test]
    fn a_history_cursor_round_trips() {
        assert_eq!(decode_cursor(&encode_cursor(300)), Some(300));
        assert_eq!(decode_cursor("nope"), None);
    }
}
