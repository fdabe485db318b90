//! "New {singular}": name, key and property rows, sent as `POST /groups/`.
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde_json::{Map, Value, json};

use super::{
    Rest, UiError, UiResult,
    layout::{Layout, Section, parse_index, parse_project},
    properties::coerce,
    render,
    rest::enc,
    session::Session,
};
use crate::state::AppState;

/// Property rows the form offers (works without JavaScript: blank rows are ignored).
const ROWS: usize = 5;

#[derive(Template)]
#[template(path = "create.html")]
struct CreatePage {
    layout: Layout,
    index: i64,
    singular: String,
    name: String,
    key: String,
    rows: Vec<(String, String)>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    rest: &Rest,
    session: &Session,
    project_id: &str,
    index: &str,
    filled: (String, String, Vec<(String, String)>),
    error: Option<(StatusCode, String)>,
) -> UiResult<Response> {
    let project_id = parse_project(project_id)?;
    let index = parse_index(index)?;
    let layout = Layout::load(
        state,
        rest,
        session,
        project_id,
        Some(index),
        Section::Groups,
        "New group",
    )
    .await?;
    if !layout.can_write {
        return Err(UiError::Page(
            StatusCode::FORBIDDEN,
            "API key missing required scope 'group:write'".into(),
        ));
    }
    let singular = layout
        .active_type()
        .map_or_else(|| "group".to_owned(), |t| t.singular.clone());
    let (name, key, mut rows) = filled;
    rows.resize(ROWS.max(rows.len()), (String::new(), String::new()));
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    Ok(super::with_status(
        status,
        render(&CreatePage {
            layout,
            index,
            singular,
            name,
            key,
            rows,
            error,
        }),
    ))
}

/// `GET …/new`.
pub async fn form(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path((project_id, index)): Path<(String, String)>,
) -> UiResult<Response> {
    let blank = (String::new(), String::new(), Vec::new());
    page(&state, &rest, &session, &project_id, &index, blank, None).await
}

/// `POST …/new`: creates the group and opens it, or shows the REST refusal beside the form.
pub async fn submit(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path((project_id, index)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    session.check_csrf(&form)?;
    let get = |n: &str| {
        form.iter()
            .rev()
            .find(|(k, _)| k == n)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let (name, key) = (get("name"), get("key"));
    let names: Vec<&String> = form
        .iter()
        .filter(|(k, _)| k == "prop_name")
        .map(|(_, v)| v)
        .collect();
    let values: Vec<&String> = form
        .iter()
        .filter(|(k, _)| k == "prop_value")
        .map(|(_, v)| v)
        .collect();
    let rows: Vec<(String, String)> = names
        .iter()
        .zip(values.iter().chain(std::iter::repeat(&&String::new())))
        .map(|(n, v)| ((*n).clone(), (*v).clone()))
        .collect();
    let mut props = Map::new();
    if !name.trim().is_empty() {
        props.insert("name".into(), Value::String(name.clone()));
    }
    for (n, v) in &rows {
        if !n.trim().is_empty() {
            props.insert(n.trim().to_owned(), coerce(v));
        }
    }
    let body = json!({"group_type_index": index, "group_key": key, "group_properties": props});
    let url = format!("/api/projects/{}/groups/", enc(&project_id));
    match rest
        .call(&session.key, Method::POST, &url, Some(body))
        .await
    {
        Ok(g) => Ok(Redirect::to(&format!(
            "/ui/projects/{}/types/{}/group?key={}",
            enc(&project_id),
            enc(&index),
            enc(g["group_key"].as_str().unwrap_or(&key))
        ))
        .into_response()),
        Err(e) => {
            let detail = match e.attr {
                Some(a) => format!("{a}: {}", e.detail),
                None => e.detail,
            };
            page(
                &state,
                &rest,
                &session,
                &project_id,
                &index,
                (name, key, rows),
                Some((e.status, detail)),
            )
            .await
        }
    }
}
