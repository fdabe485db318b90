//! Settings, per type: singular and plural names (`update_metadata`), default columns, usage
//! metrics (create / edit / delete) and deleting the type, each behind a confirmation where it
//! destroys something. One form action per change, each a REST call.
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Rest, UiResult,
    layout::{Layout, Section, parse_project},
    render,
    rest::enc,
    session::Session,
};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    /// A type whose deletion awaits confirmation.
    #[serde(default)]
    confirm_type: String,
    /// `index:id` of a metric whose deletion awaits confirmation.
    #[serde(default)]
    confirm_metric: String,
}

/// A usage metric as the form shows it.
pub struct MetricRow {
    pub id: String,
    pub name: String,
    pub event: String,
    pub interval: i64,
    pub math: String,
    pub display: String,
}

/// A type's settings.
pub struct TypeSettings {
    pub index: i64,
    pub group_type: String,
    pub singular: String,
    pub plural: String,
    pub columns: String,
    pub metrics: Vec<MetricRow>,
    pub metrics_error: Option<String>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    types: Vec<TypeSettings>,
    confirm_type: String,
    confirm_metric: String,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    rest: &Rest,
    session: &Session,
    project_id: i64,
    q: SettingsQuery,
    error: Option<(StatusCode, String)>,
) -> UiResult<Response> {
    let layout = Layout::load(
        state,
        rest,
        session,
        project_id,
        None,
        Section::Settings,
        "Settings",
    )
    .await?;
    let mut types = Vec::new();
    for t in &layout.type_rows {
        let index = t["group_type_index"].as_i64().unwrap_or(0);
        let metrics = rest
            .get(
                &session.key,
                &format!("/api/projects/{project_id}/groups_types/{index}/metrics/"),
            )
            .await;
        let (metrics, metrics_error) = match metrics {
            Ok(m) => (metric_rows(&m), None),
            Err(e) => (Vec::new(), Some(e.detail)),
        };
        let text = |f: &str| t[f].as_str().unwrap_or("").to_owned();
        types.push(TypeSettings {
            index,
            group_type: text("group_type"),
            singular: text("name_singular"),
            plural: text("name_plural"),
            columns: t["default_columns"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            metrics,
            metrics_error,
        });
    }
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    Ok(super::with_status(
        status,
        render(&SettingsPage {
            layout,
            types,
            confirm_type: q.confirm_type,
            confirm_metric: q.confirm_metric,
            error,
        }),
    ))
}

fn metric_rows(list: &Value) -> Vec<MetricRow> {
    list["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|m| MetricRow {
                    id: m["id"].as_str().unwrap_or("").to_owned(),
                    name: m["name"].as_str().unwrap_or("").to_owned(),
                    event: m["filters"]["events"][0]["id"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                    interval: m["interval"].as_i64().unwrap_or(7),
                    math: m["math"].as_str().unwrap_or("count").to_owned(),
                    display: m["display"].as_str().unwrap_or("number").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /ui/projects/{id}/settings`.
pub async fn get_page(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path(project_id): Path<String>,
    Query(q): Query<SettingsQuery>,
) -> UiResult<Response> {
    let project_id = parse_project(&project_id)?;
    page(&state, &rest, &session, project_id, q, None).await
}

/// `POST /ui/projects/{id}/settings`: one change, named by `action`.
pub async fn submit(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path(project_id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    session.check_csrf(&form)?;
    let project_id = parse_project(&project_id)?;
    let get = |n: &str| {
        form.iter()
            .rev()
            .find(|(k, _)| k == n)
            .map_or("", |(_, v)| v.as_str())
    };
    let index = get("index");
    let base = format!("/api/projects/{project_id}/groups_types");
    let (method, url, body) = match get("action") {
        "rename" => (
            Method::PATCH,
            format!("{base}/update_metadata"),
            Some(json!([{
                "group_type_index": index,
                "name_singular": empty_null(get("singular")),
                "name_plural": empty_null(get("plural")),
            }])),
        ),
        "columns" => {
            let cols: Vec<&str> = get("columns")
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            (
                Method::PUT,
                format!("{base}/set_default_columns"),
                Some(json!({"group_type_index": index, "default_columns": cols})),
            )
        }
        "delete_type" => (Method::DELETE, format!("{base}/{}", enc(index)), None),
        "metric_new" | "metric_edit" => {
            let event = get("event").trim();
            let mut m = json!({
                "name": get("name"),
                "filters": {"events": [{"id": empty_null(event), "type": "events", "properties": []}], "properties": []},
                "math": get("math"),
                "display": get("display"),
            });
            if let Ok(i) = get("interval").trim().parse::<i64>() {
                m["interval"] = json!(i);
            } else {
                m["interval"] = json!(get("interval"));
            }
            if !get("math_property").trim().is_empty() {
                m["math_property"] = json!(get("math_property").trim());
            }
            if get("action") == "metric_new" {
                (
                    Method::POST,
                    format!("{base}/{}/metrics/", enc(index)),
                    Some(m),
                )
            } else {
                (
                    Method::PATCH,
                    format!("{base}/{}/metrics/{}/", enc(index), enc(get("id"))),
                    Some(m),
                )
            }
        }
        "metric_delete" => (
            Method::DELETE,
            format!("{base}/{}/metrics/{}/", enc(index), enc(get("id"))),
            None,
        ),
        _ => {
            return page(
                &state,
                &rest,
                &session,
                project_id,
                SettingsQuery::default(),
                Some((StatusCode::BAD_REQUEST, "Unknown action.".into())),
            )
            .await;
        }
    };
    match rest.call(&session.key, method, &url, body).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/projects/{project_id}/settings")).into_response()),
        Err(e) => {
            let detail = match e.attr {
                Some(a) => format!("{a}: {}", e.detail),
                None => e.detail,
            };
            page(
                &state,
                &rest,
                &session,
                project_id,
                SettingsQuery::default(),
                Some((e.status, detail)),
            )
            .await
        }
    }
}

fn empty_null(s: &str) -> Value {
    let s = s.trim();
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}
