//! `GET /api/projects/{project_id}/groups/related`: the distinct_ids and the groups of other types
//! seen on events together with a group (or the groups seen with a distinct_id) in the last 90
//! days, in PostHog's actor shape. groupd has no persons: a distinct_id stands in for one.
//! The events are read by the engine (segments and hot tail, one aggregate); the UI's Related
//! tab calls this route.
use std::time::Duration;

use axum::{Json, Router, extract::State};
use groupd_analytics::{EngineError, RelatedRequest, SeenPerson};
use groupd_core::{GroupTypeIndex, Scope, time_fmt::format_us};
use groupd_store::{EventsOf, StoreError};
use serde_json::{Value, json};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    events_view::GroupCache,
    request::RequestInfo,
    routes::route,
};
use crate::state::AppState;

/// How far back "related" looks (PostHog: `timestamp > now() - INTERVAL 90 DAY`).
const WINDOW_US: i64 = 90 * 86_400 * 1_000_000;
/// The most actors one answer holds.
const MAX_ACTORS: usize = 1000;

/// The route of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    route("/groups/related", axum::routing::get(related))
}

/// The query of `GET /groups/related`.
#[derive(Debug, PartialEq)]
pub struct RelatedParams {
    /// A group key (with `index`) or a distinct_id (without).
    pub id: String,
    /// The group's type.
    pub index: Option<GroupTypeIndex>,
}

impl RelatedParams {
    /// Reads `id` (required) and `group_type_index` (optional, within `0..max_group_types`).
    pub fn parse(req: &RequestInfo, max_group_types: u32) -> ApiResult<Self> {
        let id = req
            .non_empty_param("id")
            .ok_or_else(|| ApiError::required_param("id"))?
            .to_owned();
        let index = match req.non_empty_param("group_type_index") {
            None => None,
            Some(raw) => Some(bounded_index(raw, max_group_types)?),
        };
        Ok(Self { id, index })
    }
}

/// An index query parameter that must name a slot a type could hold.
fn bounded_index(raw: &str, max_group_types: u32) -> ApiResult<GroupTypeIndex> {
    const NAME: &str = "group_type_index";
    let i = GroupTypeIndex::parse_str(raw).ok_or_else(|| ApiError::not_an_integer(NAME))?;
    if i.0 < 0 {
        return Err(ApiError::invalid(
            NAME,
            "Ensure this value is greater than or equal to 0.",
        ));
    }
    let last = i64::from(max_group_types) - 1;
    if i.0 > last {
        return Err(ApiError::invalid(
            NAME,
            format!("Ensure this value is less than or equal to {last}."),
        ));
    }
    Ok(i)
}

fn person_json(p: &SeenPerson) -> Value {
    let d = p.distinct_id.as_str();
    json!({
        "type": "person", "id": d, "uuid": d, "distinct_ids": [d],
        "name": d, "properties": {}, "is_identified": false,
        "created_at": format_us(p.first_us), "last_seen_at": format_us(p.last_us),
        "matched_recordings": [], "value_at_data_point": null,
    })
}

/// The engine's failures in this route's terms: none is the client's doing.
fn engine_error(e: EngineError) -> ApiError {
    ApiError::from(match e {
        EngineError::Store(e) => e,
        EngineError::Timeout => StoreError::QueryTimeout,
        EngineError::Memory(_) => StoreError::Busy,
        EngineError::Invalid(m) => StoreError::Internal(anyhow::anyhow!("related events: {m}")),
    })
}

/// GET /groups/related — actors seen with a group or a distinct_id in the last 90 days.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/related", tag = "groups",
    params(("project_id" = String, Path), ("id" = String, Query, description = "A group key, or a distinct_id without group_type_index"),
           ("group_type_index" = Option<i64>, Query)),
    responses((status = 200, description = "A bare array of person and group actors", body = Vec<super::schema::RelatedActor>), (status = 400, body = super::error::ErrorBody)))]
pub async fn related(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::GroupRead)?;
    let p = RelatedParams::parse(&api.req, state.config.max_group_types)?;
    let project = api.project_id();
    // Strictly after `now - 90 days`, no upper bound (PostHog's window).
    let req = RelatedRequest {
        project,
        since_us: state.clock.now_us().saturating_sub(WINDOW_US) + 1,
        of: match p.index {
            Some(i) => EventsOf::Group(i, p.id.clone()),
            None => EventsOf::DistinctId(p.id.clone()),
        },
        timeout: Duration::from_secs(state.config.query_timeout_secs),
    };
    let seen = state
        .engine
        .related(state.store.as_ref(), &req)
        .await
        .map_err(engine_error)?;

    let mut actors: Vec<Value> = seen
        .people
        .iter()
        .take(MAX_ACTORS)
        .map(person_json)
        .collect();
    let mut groups = GroupCache::default();
    for (index, key) in &seen.groups {
        if actors.len() >= MAX_ACTORS {
            break;
        }
        let Some(g) = groups.load(&*state.store, project, *index, key).await? else {
            continue;
        };
        actors.push(json!({
            "type": "group", "id": key, "group_key": key, "group_type_index": index,
            "properties": g.properties, "created_at": format_us(g.group.created_at),
            "matched_recordings": [], "value_at_data_point": null,
        }));
    }
    Ok(Json(Value::Array(actors)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_must_name_a_slot_a_type_could_hold() {
        let parse = |q: &str| RelatedParams::parse(&RequestInfo::for_test(q), 5);
        assert_eq!(
            parse("/x?id=acme&group_type_index=4").unwrap(),
            RelatedParams {
                id: "acme".into(),
                index: Some(GroupTypeIndex(4))
            }
        );
        assert_eq!(parse("/x?id=u1&group_type_index=").unwrap().index, None);
        for (q, detail) in [
            ("/x?group_type_index=0", "This query parameter is required."),
            (
                "/x?id=&group_type_index=0",
                "This query parameter is required.",
            ),
            ("/x?id=a&group_type_index=x", "A valid integer is required."),
            (
                "/x?id=a&group_type_index=5",
                "Ensure this value is less than or equal to 4.",
            ),
            (
                "/x?id=a&group_type_index=-1",
                "Ensure this value is greater than or equal to 0.",
            ),
        ] {
            let (status, _, d, _) = parse(q).unwrap_err().describe();
            assert_eq!((status, d.as_str()), (400, detail), "{q}");
        }
    }
}
