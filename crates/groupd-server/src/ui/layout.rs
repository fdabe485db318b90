//! What every page shares: the header with the projects and one tab per group type, the sign-in
//! and error pages, and the home redirects.
use askama::Template;
use axum::{
    Extension,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use groupd_core::ProjectId;
use serde_json::Value;

use super::{Rest, UiError, UiResult, render, session::Session};
use crate::state::AppState;

/// A project in the header's picker.
pub struct ProjectLink {
    pub id: i64,
    pub name: String,
    pub active: bool,
}

/// A group type tab.
pub struct TypeTab {
    pub index: i64,
    pub label: String,
    pub singular: String,
    pub active: bool,
}

/// Which section of the header is current.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum Section {
    Groups,
    Sql,
    Settings,
}

/// The header of a signed-in page.
pub struct Layout {
    pub title: String,
    pub projects: Vec<ProjectLink>,
    pub project_id: i64,
    pub project_name: String,
    pub project_token: String,
    pub types: Vec<TypeTab>,
    pub section: Section,
    pub csrf: String,
    pub key_label: String,
    pub can_write: bool,
    /// The raw group types, as the REST API lists them.
    pub type_rows: Vec<Value>,
}

impl Layout {
    /// The header for `project_id`; 404/403 exactly as the REST API answers for the project.
    pub async fn load(
        state: &AppState,
        rest: &Rest,
        session: &Session,
        project_id: i64,
        active_index: Option<i64>,
        section: Section,
        title: &str,
    ) -> UiResult<Self> {
        let projects = accessible_projects(state, session).await?;
        let Some(current) = projects.iter().find(|p| p.id.0 == project_id) else {
            // Let the REST API word the refusal (unknown project or no access).
            rest.get(
                &session.key,
                &format!("/api/projects/{project_id}/groups_types/"),
            )
            .await?;
            return Err(UiError::Page(
                StatusCode::NOT_FOUND,
                "Project not found.".into(),
            ));
        };
        let types = rest
            .get(
                &session.key,
                &format!("/api/projects/{project_id}/groups_types/"),
            )
            .await?;
        let type_rows = types.as_array().cloned().unwrap_or_default();
        let tabs = type_rows
            .iter()
            .map(|t| {
                let index = t["group_type_index"].as_i64().unwrap_or(0);
                let name = t["group_type"].as_str().unwrap_or("").to_owned();
                TypeTab {
                    index,
                    label: t["name_plural"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .unwrap_or(&name)
                        .to_owned(),
                    singular: t["name_singular"]
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .unwrap_or(&name)
                        .to_owned(),
                    active: Some(index) == active_index,
                }
            })
            .collect();
        Ok(Self {
            title: title.to_owned(),
            project_id,
            project_name: current.name.clone(),
            project_token: current.api_token.as_str().to_owned(),
            projects: projects
                .iter()
                .map(|p| ProjectLink {
                    id: p.id.0,
                    name: p.name.clone(),
                    active: p.id.0 == project_id,
                })
                .collect(),
            types: tabs,
            section,
            csrf: session.csrf.clone(),
            key_label: session.key.label.clone(),
            can_write: session.can_write(),
            type_rows,
        })
    }

    /// Whether the groups section is current.
    pub fn in_groups(&self) -> bool {
        self.section == Section::Groups
    }

    /// Whether the SQL page is current.
    pub fn in_sql(&self) -> bool {
        self.section == Section::Sql
    }

    /// Whether the settings page is current.
    pub fn in_settings(&self) -> bool {
        self.section == Section::Settings
    }

    /// The active type's tab.
    pub fn active_type(&self) -> Option<&TypeTab> {
        self.types.iter().find(|t| t.active)
    }
}

/// The projects the key may access (no `project:read` needed, `ui.md`).
async fn accessible_projects(
    state: &AppState,
    session: &Session,
) -> UiResult<Vec<groupd_store::Project>> {
    let all = state.store.list_projects().await.map_err(|e| {
        tracing::error!(error = %e, "cannot list projects for the UI");
        UiError::Page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable; try again.".into(),
        )
    })?;
    Ok(all
        .into_iter()
        .filter(|p| session.key.may_access(p.id))
        .collect())
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub error: Option<String>,
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub message: String,
}

/// A project with no group type yet: the capture snippet.
#[derive(Template)]
#[template(path = "no_types.html")]
pub struct NoTypesPage {
    pub layout: Layout,
    pub origin: String,
}

/// `GET /`: the first project the key may access.
pub async fn home(State(state): State<AppState>, session: Session) -> UiResult<Response> {
    let projects = accessible_projects(&state, &session).await?;
    match projects.first() {
        Some(p) => Ok(Redirect::to(&format!("/ui/projects/{}", p.id.0)).into_response()),
        None => Err(UiError::Page(
            StatusCode::FORBIDDEN,
            "This key may access no project.".into(),
        )),
    }
}

/// `GET /ui/projects/{id}`: the first type's list, or the snippet when there is none.
pub async fn project_home(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path(project_id): Path<String>,
    headers: axum::http::HeaderMap,
) -> UiResult<Response> {
    let project_id = parse_project(&project_id)?;
    let layout = Layout::load(
        &state,
        &rest,
        &session,
        project_id,
        None,
        Section::Groups,
        "Groups",
    )
    .await?;
    match layout.types.first() {
        Some(t) => Ok(
            Redirect::to(&format!("/ui/projects/{project_id}/types/{}", t.index)).into_response(),
        ),
        None => Ok(render(&NoTypesPage {
            layout,
            origin: super::list::origin(&headers),
        })),
    }
}

/// A project id from the path (anything else: 404, as REST).
pub fn parse_project(raw: &str) -> UiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| ProjectId(*id).0 > 0)
        .ok_or_else(|| UiError::Page(StatusCode::NOT_FOUND, "Project not found.".into()))
}

/// A type index from the path.
pub fn parse_index(raw: &str) -> UiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| (0..64).contains(i))
        .ok_or_else(|| UiError::Page(StatusCode::NOT_FOUND, "Group type not found".into()))
}

/// A time for `<time datetime="…">`: the RFC 3339 text and a readable form.
pub struct Time {
    pub iso: String,
    pub shown: String,
}

impl Time {
    /// From the API's RFC 3339 text.
    pub fn from_iso(iso: &str) -> Self {
        let shown = match iso.get(..19) {
            Some(head) => format!("{} UTC", head.replace('T', " ")),
            None => iso.to_owned(),
        };
        Self {
            iso: iso.to_owned(),
            shown,
        }
    }
}

/// A property value as shown: strings bare, everything else as JSON.
pub fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
