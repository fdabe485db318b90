//! `GET /api/projects/{project_id}/property_definitions/?type=group&group_type_index=N`: PostHog's
//! current property definitions, typed. The names, their counts and their types are maintained by
//! every group write (the store's property counts), so a page reads a few index rows whatever the
//! number of groups.
use axum::{Json, Router, extract::State};
use groupd_core::{GroupTypeIndex, Scope, groups::PropertyType};
use groupd_store::TypedPropertyQuery;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    fields::index_param,
    paging::Paging,
    routes::route,
};
use crate::state::AppState;

/// PostHog's `PropertyDefinition.Type.GROUP`.
const GROUP_DEFINITION_TYPE: i64 = 3;

/// The route of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    route("/property_definitions", axum::routing::get(list))
}

/// A stable opaque id: the same project, type and name always give the same one.
fn definition_id(project: i64, index: GroupTypeIndex, name: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{project}\0{}\0", index.0).as_bytes());
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

/// GET /property_definitions/ — a type's property names with their types.
#[utoipa::path(get, path = "/api/projects/{project_id}/property_definitions/", tag = "property_definitions",
    params(("project_id" = String, Path), ("type" = String, Query, description = "`group`; other types list nothing"),
           ("group_type_index" = i64, Query), ("search" = Option<String>, Query),
           ("limit" = Option<u32>, Query), ("offset" = Option<u32>, Query)),
    responses((status = 200, description = "Definitions, names ascending", body = super::schema::PropertyDefinitionPage), (status = 400, body = super::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let req = &api.req;
    let kind = req
        .non_empty_param("type")
        .ok_or_else(|| ApiError::required_param("type"))?;
    let paging = Paging::parse(req, 100, 1000)?;
    if kind != "group" {
        return Ok(Json(
            json!({"count": 0, "next": null, "previous": null, "results": []}),
        ));
    }
    let index = index_param(req)?;
    let q = TypedPropertyQuery {
        index,
        search: req.non_empty_param("search").map(str::to_owned),
        offset: paging.offset,
        limit: paging.limit,
    };
    let project = api.project_id();
    let (rows, total) = state.store.typed_properties(project, q).await?;
    let results: Vec<Value> = rows
        .iter()
        .map(|p| {
            json!({
                "id": definition_id(project.0, index, &p.name),
                "name": p.name,
                "property_type": p.property_type.map(PropertyType::as_str),
                "is_numerical": p.property_type == Some(PropertyType::Numeric),
                "type": GROUP_DEFINITION_TYPE,
                "group_type_index": index,
            })
        })
        .collect();
    let (next, previous) = paging.links(req, total);
    Ok(Json(json!({
        "count": total, "next": next, "previous": previous, "results": results,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_differ_by_name_type_and_project() {
        let a = definition_id(1, GroupTypeIndex(0), "plan");
        assert_eq!(a, definition_id(1, GroupTypeIndex(0), "plan"));
        assert_eq!(a.len(), 36);
        assert_ne!(a, definition_id(1, GroupTypeIndex(1), "plan"));
        assert_ne!(a, definition_id(2, GroupTypeIndex(0), "plan"));
        assert_ne!(a, definition_id(1, GroupTypeIndex(0), "plans"));
    }
}
