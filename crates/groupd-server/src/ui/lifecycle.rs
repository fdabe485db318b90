//! The profile's lifecycle parts (`lifecycle.md`): the History tab, read through
//! `GET /groups_types/:i/groups/:key/history` with its cursor, and "Delete group" through
//! `DELETE /groups_types/:i/groups/:key` after a server-side confirmation step.
use axum::{
    Extension, Form,
    extract::{Path, Query, State},
    http::Method,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::Value;

use super::{
    Rest, UiResult,
    group::{GroupQuery, Refused, profile},
    layout::{Time, show_value},
    list::cursor_of,
    rest::{RestError, enc},
    session::Session,
};
use crate::state::AppState;

/// One version of a property, as the History tab shows it.
pub struct Change {
    pub property: String,
    /// The value just before; `None` when the property had none.
    pub before: Option<String>,
    /// The value set; `None` for an unset (the removal).
    pub after: Option<String>,
    pub time: Time,
    /// capture / API (with the key's label) / import.
    pub source: String,
}

/// A page of history, newest first, and the link to the next page when there is one.
pub struct History {
    pub changes: Vec<Change>,
    pub more: Option<String>,
}

/// Reads one page of the group's property history, from `cursor` when given.
pub async fn load(
    rest: &Rest,
    session: &Session,
    (project_id, index): (i64, i64),
    key: &str,
    cursor: &str,
) -> Result<History, RestError> {
    let mut url = format!(
        "/api/projects/{project_id}/groups_types/{index}/groups/{}/history",
        enc(key)
    );
    if !cursor.is_empty() {
        url.push_str(&format!("?cursor={}", enc(cursor)));
    }
    let page = rest.get(&session.key, &url).await?;
    let changes = page["results"]
        .as_array()
        .map(|rs| rs.iter().map(change).collect())
        .unwrap_or_default();
    let more = page["next"].as_str().and_then(cursor_of).map(|c| {
        format!(
            "/ui/projects/{project_id}/types/{index}/group?key={}&tab=history&cursor={}",
            enc(key),
            enc(&c)
        )
    });
    Ok(History { changes, more })
}

fn change(v: &Value) -> Change {
    let shown = |v: &Value| (!v.is_null()).then(|| show_value(v));
    let source = match v["source"]["kind"].as_str().unwrap_or("") {
        "api" => match v["source"]["key_label"].as_str() {
            Some(label) if !label.is_empty() => format!("API ({label})"),
            _ => "API".to_owned(),
        },
        other => other.to_owned(),
    };
    Change {
        property: v["property"].as_str().unwrap_or("").to_owned(),
        before: shown(&v["previous_value"]),
        after: if v["op"] == "unset" {
            None
        } else {
            shown(&v["value"])
        },
        time: Time::from_iso(v["event_time"].as_str().unwrap_or("")),
        source,
    }
}

/// `POST …/group/delete?key=…`: delete the group (the confirmation page came before), then back
/// to the list, where it is gone.
pub async fn delete(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path((project_id, index)): Path<(String, String)>,
    Query(q): Query<GroupQuery>,
    Form(form): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    session.check_csrf(&form)?;
    let url = format!(
        "/api/projects/{}/groups_types/{}/groups/{}",
        enc(&project_id),
        enc(&index),
        enc(&q.key)
    );
    match rest.call(&session.key, Method::DELETE, &url, None).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/ui/projects/{}/types/{}",
            enc(&project_id),
            enc(&index)
        ))
        .into_response()),
        Err(e) => {
            let refused = Refused {
                status: Some(e.status),
                message: Some(e.detail),
                ..Refused::default()
            };
            profile(&state, &rest, &session, &project_id, &index, q, refused).await
        }
    }
}
