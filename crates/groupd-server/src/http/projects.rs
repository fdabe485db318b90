//! `/api/projects/` and `/api/projects/{project_id}/`: list, create, retrieve, rename.
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse};
use groupd_core::{Scope, time_fmt::format_us};
use groupd_store::{NewProject, Project};
use serde_json::{Value, json};

use super::{
    auth::{Api, ProjectApi},
    error::{ApiError, ApiResult},
    fields::{self, optional_string, required_string},
    routes::route,
};
use crate::state::AppState;

/// Longest project name (PostHog's team name limit).
const NAME_MAX: usize = 200;

/// `/api/projects/` and `/api/projects/{project_id}/`, also under the `/api/environments` alias.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    let mut r = Router::new();
    for prefix in super::API_PREFIXES {
        r = r.merge(route(prefix, get(list).post(create))).merge(route(
            &format!("{prefix}/{{project_id}}"),
            get(retrieve).patch(update),
        ));
    }
    r
}

/// The project object.
pub fn project_json(p: &Project) -> Value {
    json!({"id": p.id, "name": p.name, "api_token": p.api_token, "created_at": format_us(p.created_at)})
}

/// The body of `POST /api/projects/`: the name.
pub fn parse_new_project(body: Value) -> ApiResult<String> {
    required_string(&fields::object(body)?, "name", NAME_MAX)
}

/// The body of `PATCH /api/projects/{id}/`: the new name, `None` when the body names none.
pub fn parse_rename(body: Value) -> ApiResult<Option<String>> {
    match optional_string(&fields::object(body)?, "name", NAME_MAX)? {
        None => Ok(None),
        Some(None) => Err(ApiError::validation(
            "null",
            "This field may not be null.",
            Some("name"),
        )),
        Some(Some(name)) => Ok(Some(name)),
    }
}

fn project_not_found() -> ApiError {
    ApiError::not_found_with("Project not found.")
}

/// GET /api/projects/ — the projects the key may access.
#[utoipa::path(get, path = "/api/projects/", tag = "projects", responses((status = 200, description = "Projects", body = super::schema::ProjectPage)))]
pub async fn list(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    api.require(Scope::ProjectRead)?;
    let projects: Vec<Value> = state
        .store
        .list_projects()
        .await?
        .iter()
        .filter(|p| api.key.may_access(p.id))
        .map(project_json)
        .collect();
    Ok(Json(
        json!({"count": projects.len(), "next": null, "previous": null, "results": projects}),
    ))
}

/// POST /api/projects/ — a new project with a fresh token.
#[utoipa::path(post, path = "/api/projects/", tag = "projects", request_body = super::schema::NewProject,
    responses((status = 201, description = "The project", body = super::schema::Project), (status = 400, body = super::error::ErrorBody)))]
pub async fn create(State(state): State<AppState>, api: Api) -> ApiResult<impl IntoResponse> {
    api.require(Scope::ProjectWrite)?;
    // A key limited to projects would not be limited if it could make more.
    if api.key.projects.is_some() {
        return Err(ApiError::permission_denied(
            "API key is limited to projects and cannot create one.",
        ));
    }
    let name = api.parse_body(parse_new_project)?;
    let p = state
        .store
        .create_project(
            NewProject {
                name,
                api_token: None,
            },
            state.clock.now_us(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(project_json(&p))))
}

/// GET /api/projects/{project_id}/ — one project.
#[utoipa::path(get, path = "/api/projects/{project_id}/", tag = "projects",
    params(("project_id" = String, Path)), responses((status = 200, description = "The project", body = super::schema::Project), (status = 404, body = super::error::ErrorBody)))]
pub async fn retrieve(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::ProjectRead)?;
    // Read afresh: the access check may have used a cached copy, a rename must show at once.
    let p = state
        .store
        .get_project(api.project_id())
        .await?
        .ok_or_else(project_not_found)?;
    Ok(Json(project_json(&p)))
}

/// PATCH /api/projects/{project_id}/ — rename.
#[utoipa::path(patch, path = "/api/projects/{project_id}/", tag = "projects",
    params(("project_id" = String, Path)), request_body = super::schema::ProjectUpdate, responses((status = 200, description = "The project", body = super::schema::Project), (status = 400, body = super::error::ErrorBody)))]
pub async fn update(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Json<Value>> {
    api.require(Scope::ProjectWrite)?;
    let p = match api.parse_body(parse_rename)? {
        None => state.store.get_project(api.project_id()).await?,
        Some(name) => state.store.rename_project(api.project_id(), &name).await?,
    };
    p.map(|p| Json(project_json(&p)))
        .ok_or_else(project_not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_without_a_name_changes_nothing_and_null_is_refused() {
        assert_eq!(parse_rename(json!({"other": 1})).unwrap(), None);
        assert_eq!(
            parse_rename(json!({"name": "New"})).unwrap().as_deref(),
            Some("New")
        );
        let (status, code, _, attr) = parse_rename(json!({"name": null})).unwrap_err().describe();
        assert_eq!((status, code, attr.as_deref()), (400, "null", Some("name")));
        let (_, code, _, _) = parse_new_project(json!({"name": "  "}))
            .unwrap_err()
            .describe();
        assert_eq!(code, "blank");
    }
}
