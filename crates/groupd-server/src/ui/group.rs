//! A group's profile: header (type, key with a copy button, first seen) and the tabs
//! Properties, History, Events, Usage and Related, each a link (`?tab=`) that works without
//! JavaScript.
use askama::Template;
use axum::{
    Extension,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    Rest, UiResult,
    events::{self, EventsTab},
    layout::{Layout, Section, Time, parse_index, parse_project, show_value},
    lifecycle::{self, History},
    render,
    rest::enc,
    session::Session,
    svg,
};
use crate::state::AppState;

/// The profile's query string.
#[derive(Deserialize, Default)]
pub struct GroupQuery {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub tab: String,
    /// Properties: the filter box.
    #[serde(default)]
    pub filter: String,
    /// Properties: the property whose deletion awaits confirmation.
    #[serde(default)]
    pub confirm: String,
    /// `saved` or `deleted` after a change went through.
    #[serde(default)]
    pub done: String,
    /// History: the REST cursor of the page to show.
    #[serde(default)]
    pub cursor: String,
    /// `1`: the "Delete group" confirmation step.
    #[serde(default)]
    pub delete: String,
}

/// A property row.
pub struct Prop {
    pub name: String,
    pub shown: String,
    /// The text the edit box starts with (what typing it again would store).
    pub edit: String,
}

/// A usage metric row.
pub struct Metric {
    pub name: String,
    pub value: String,
    pub change: String,
    pub spark: String,
}

/// A related group or distinct_id.
pub struct Related {
    pub label: String,
    pub detail: String,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    layout: Layout,
    /// The `name` property, else the key.
    title: String,
    key: String,
    key_q: String,
    base: String,
    singular: String,
    created: Time,
    tab: String,
    filter: String,
    confirm: String,
    done: String,
    props: Vec<Prop>,
    events: Option<EventsTab>,
    history: Option<History>,
    /// The "Delete group" confirmation is shown.
    confirm_delete: bool,
    metrics: Vec<Metric>,
    related: Vec<Related>,
    /// A tab's data could not be read: the REST message.
    tab_error: Option<String>,
    /// A refused change: the REST message.
    error: Option<String>,
    /// What the New property form held when it was refused.
    new_name: String,
    new_value: String,
}

/// A change the profile re-renders after (a refused property change).
#[derive(Default)]
pub struct Refused {
    pub status: Option<StatusCode>,
    pub message: Option<String>,
    pub new_name: String,
    pub new_value: String,
}

/// `GET …/group?key=…&tab=…`.
pub async fn page(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path((project_id, index)): Path<(String, String)>,
    Query(q): Query<GroupQuery>,
) -> UiResult<Response> {
    profile(
        &state,
        &rest,
        &session,
        &project_id,
        &index,
        q,
        Refused::default(),
    )
    .await
}

/// The profile page, with `refused` shown when a change was refused.
pub async fn profile(
    state: &AppState,
    rest: &Rest,
    session: &Session,
    project_id: &str,
    index: &str,
    q: GroupQuery,
    refused: Refused,
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
        "Group",
    )
    .await?;
    let group = rest
        .get(
            &session.key,
            &format!(
                "/api/projects/{project_id}/groups/find?group_type_index={index}&group_key={}",
                enc(&q.key)
            ),
        )
        .await?;
    let tab = match q.tab.as_str() {
        "history" | "events" | "usage" | "related" => q.tab.clone(),
        _ => "properties".to_owned(),
    };
    let mut page = GroupPage {
        singular: layout
            .active_type()
            .map_or_else(|| "group".to_owned(), |t| t.singular.clone()),
        layout,
        key_q: enc(&q.key),
        base: format!("/ui/projects/{project_id}/types/{index}"),
        title: group["group_properties"]
            .get("name")
            .map(show_value)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| q.key.clone()),
        key: q.key.clone(),
        created: Time::from_iso(group["created_at"].as_str().unwrap_or("")),
        tab: tab.clone(),
        filter: q.filter.clone(),
        confirm: q.confirm.clone(),
        done: q.done.clone(),
        props: Vec::new(),
        events: None,
        history: None,
        confirm_delete: q.delete == "1",
        metrics: Vec::new(),
        related: Vec::new(),
        tab_error: None,
        error: refused.message,
        new_name: refused.new_name,
        new_value: refused.new_value,
    };
    let loaded = match tab.as_str() {
        "properties" => {
            page.props = properties(&group["group_properties"], &q.filter);
            Ok(())
        }
        "history" => lifecycle::load(rest, session, (project_id, index), &q.key, &q.cursor)
            .await
            .map(|h| page.history = Some(h)),
        "events" => events::load(state, rest, session, project_id, index, &q.key)
            .await
            .map(|e| page.events = Some(e)),
        "usage" => usage(rest, session, project_id, index, &q.key)
            .await
            .map(|m| page.metrics = m),
        "related" => related(rest, session, project_id, index, &q.key)
            .await
            .map(|r| page.related = r),
        _ => Ok(()),
    };
    if let Err(e) = loaded {
        page.tab_error = Some(e.detail);
    }
    let status = refused.status.unwrap_or(StatusCode::OK);
    Ok(super::with_status(status, render(&page)))
}

/// The properties, by name, those matching `filter` (name or value, case-insensitive).
fn properties(props: &Value, filter: &str) -> Vec<Prop> {
    let needle = filter.trim().to_lowercase();
    let mut out: Vec<Prop> = props
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| Prop {
                    name: k.clone(),
                    shown: show_value(v),
                    edit: show_value(v),
                })
                .filter(|p| {
                    needle.is_empty()
                        || p.name.to_lowercase().contains(&needle)
                        || p.shown.to_lowercase().contains(&needle)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The type's usage metrics for this group, through `POST /query/` (`UsageMetricsQuery`).
async fn usage(
    rest: &Rest,
    session: &Session,
    project_id: i64,
    index: i64,
    key: &str,
) -> Result<Vec<Metric>, super::rest::RestError> {
    let body = serde_json::json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": index, "group_key": key}});
    let out = rest
        .call(
            &session.key,
            axum::http::Method::POST,
            &format!("/api/projects/{project_id}/query/"),
            Some(body),
        )
        .await?;
    Ok(out["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|m| {
                    let name = m["name"].as_str().unwrap_or("").to_owned();
                    let value = m["value"].as_f64().unwrap_or(0.0);
                    let value = if m["format"] == "currency" {
                        format!("${value:.2}")
                    } else {
                        svg::fmt_num(value)
                    };
                    let change = m["change_from_previous_pct"]
                        .as_f64()
                        .map_or_else(|| "—".to_owned(), svg::signed_pct);
                    let spark = m["timeseries"]
                        .as_array()
                        .map(|ts| {
                            let vs: Vec<f64> =
                                ts.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect();
                            svg::sparkline(&format!("{name} per day"), &vs)
                        })
                        .unwrap_or_default();
                    Metric {
                        name,
                        value,
                        change,
                        spark,
                    }
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Related distinct_ids and groups, through `GET /groups/related`.
async fn related(
    rest: &Rest,
    session: &Session,
    project_id: i64,
    index: i64,
    key: &str,
) -> Result<Vec<Related>, super::rest::RestError> {
    let out = rest
        .get(
            &session.key,
            &format!(
                "/api/projects/{project_id}/groups/related?group_type_index={index}&id={}",
                enc(key)
            ),
        )
        .await?;
    Ok(out
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|a| {
                    if a["type"] == "group" {
                        let i = a["group_type_index"].as_i64().unwrap_or(0);
                        let k = a["group_key"].as_str().unwrap_or("");
                        Related {
                            label: a["group_properties"]["name"]
                                .as_str()
                                .or_else(|| a["properties"]["name"].as_str())
                                .unwrap_or(k)
                                .to_owned(),
                            detail: format!("group (type {i}) · {k}"),
                            href: Some(format!(
                                "/ui/projects/{project_id}/types/{i}/group?key={}",
                                enc(k)
                            )),
                        }
                    } else {
                        Related {
                            label: a["id"].as_str().unwrap_or("").to_owned(),
                            detail: format!(
                                "distinct_id · last seen {}",
                                a["last_seen_at"].as_str().unwrap_or("")
                            ),
                            href: None,
                        }
                    }
                })
                .collect()
        })
        .unwrap_or_default())
}
