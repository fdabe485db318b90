//! The list of a type's groups: newest first, search as one types (htmx swaps the rows only),
//! "Load more" on the REST cursor, and the capture snippet while the type has no group.
use askama::Template;
use axum::{
    Extension,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    Rest, UiResult,
    layout::{Layout, Section, Time, parse_index, parse_project, show_value},
    render,
    rest::enc,
    session::Session,
};
use crate::state::AppState;

/// The list's query string.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    cursor: String,
    /// `rows` (search) or `more` (Load more): only that part of the page.
    #[serde(default)]
    fragment: String,
}

/// One row of the table.
pub struct Row {
    pub name: String,
    pub key: String,
    pub href: String,
    pub created: Time,
    pub extra: Vec<String>,
}

/// The rows and what follows them.
pub struct Rows {
    pub rows: Vec<Row>,
    /// The "Load more" link (no-JS) and its htmx twin.
    pub more: Option<(String, String)>,
    pub columns: usize,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    layout: Layout,
    index: i64,
    search: String,
    extra_columns: Vec<String>,
    body: Rows,
    /// No group of this type at all: the capture snippet instead of the table.
    empty: bool,
    origin: String,
    group_type: String,
}

#[derive(Template)]
#[template(path = "list_rows.html")]
struct RowsFragment {
    body: Rows,
    /// Rows swapped into the table's body (search) or appended in place of the Load more row.
    whole: bool,
}

/// `GET /ui/projects/{id}/types/{index}`.
pub async fn page(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path((project_id, index)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> UiResult<Response> {
    let project_id = parse_project(&project_id)?;
    let index = parse_index(&index)?;
    let hx = headers.contains_key("hx-request");
    let layout = if hx && !q.fragment.is_empty() {
        None
    } else {
        Some(
            Layout::load(
                &state,
                &rest,
                &session,
                project_id,
                Some(index),
                Section::Groups,
                "Groups",
            )
            .await?,
        )
    };
    let extra_columns = match &layout {
        Some(l) => default_columns(&l.type_rows, index),
        None => {
            let types = rest
                .get(
                    &session.key,
                    &format!("/api/projects/{project_id}/groups_types/"),
                )
                .await?;
            default_columns(types.as_array().map_or(&[][..], Vec::as_slice), index)
        }
    };
    let body = load_rows(&rest, &session, project_id, index, &q, &extra_columns).await?;
    match layout {
        None => Ok(render(&RowsFragment {
            body,
            whole: q.fragment == "rows",
        })),
        Some(layout) => {
            let group_type = layout
                .type_rows
                .iter()
                .find(|t| t["group_type_index"].as_i64() == Some(index))
                .and_then(|t| t["group_type"].as_str())
                .unwrap_or("company")
                .to_owned();
            let empty = body.rows.is_empty() && q.search.is_empty() && q.cursor.is_empty();
            Ok(render(&ListPage {
                layout,
                index,
                search: q.search,
                extra_columns,
                body,
                empty,
                origin: origin(&headers),
                group_type,
            }))
        }
    }
}

/// The type's `default_columns` other than the three always shown.
fn default_columns(types: &[Value], index: i64) -> Vec<String> {
    types
        .iter()
        .find(|t| t["group_type_index"].as_i64() == Some(index))
        .and_then(|t| t["default_columns"].as_array())
        .map(|cols| {
            cols.iter()
                .filter_map(Value::as_str)
                .filter(|c| !matches!(*c, "name" | "group_name" | "key" | "created_at"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One page of rows through `GET /groups/` (the REST search and cursor).
async fn load_rows(
    rest: &Rest,
    session: &Session,
    project_id: i64,
    index: i64,
    q: &ListQuery,
    extra: &[String],
) -> UiResult<Rows> {
    let mut url = format!("/api/projects/{project_id}/groups/?group_type_index={index}&limit=50");
    if !q.search.is_empty() {
        url.push_str(&format!("&search={}", enc(&q.search)));
    }
    if !q.cursor.is_empty() {
        url.push_str(&format!("&cursor={}", enc(&q.cursor)));
    }
    let page = rest.get(&session.key, &url).await?;
    let base = format!("/ui/projects/{project_id}/types/{index}");
    let rows = page["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|g| {
                    let key = g["group_key"].as_str().unwrap_or("").to_owned();
                    let props = &g["group_properties"];
                    Row {
                        name: props
                            .get("name")
                            .map(show_value)
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| key.clone()),
                        href: format!("{base}/group?key={}", enc(&key)),
                        key,
                        created: Time::from_iso(g["created_at"].as_str().unwrap_or("")),
                        extra: extra
                            .iter()
                            .map(|c| props.get(c).map(show_value).unwrap_or_default())
                            .collect(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let more = page["next"].as_str().and_then(cursor_of).map(|cursor| {
        let mut qs = format!("cursor={}", enc(&cursor));
        if !q.search.is_empty() {
            qs.push_str(&format!("&search={}", enc(&q.search)));
        }
        (format!("{base}?{qs}"), format!("{base}?{qs}&fragment=more"))
    });
    Ok(Rows {
        rows,
        more,
        columns: 3 + extra.len(),
    })
}

/// The `cursor` parameter of a REST `next` URL.
pub fn cursor_of(next: &str) -> Option<String> {
    let query = next.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
}

/// The address the browser reached this server at, for the capture snippet.
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:8000");
    format!("http://{host}")
}
