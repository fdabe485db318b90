//! `GET /groups/changes`: the change stream (lifecycle.md), as a JSON page (with a `wait` long
//! poll) or as server-sent events that follow live. Both read the store's pages by `seq > since`;
//! wake-ups come from the store's signal (this process's commits, and on PostgreSQL every
//! process's NOTIFY), and a poll every second covers a lost hint.
use std::{collections::VecDeque, convert::Infallible, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    http::header,
    response::{
        IntoResponse, Response,
        sse::{Event, Sse},
    },
};
use futures_util::stream::{self, Stream};
use groupd_core::{GroupTypeIndex, ProjectId, Scope, time_fmt::format_us};
use groupd_store::{ChangePage, ChangesQuery, GroupChange, Store};
use serde_json::{Value, json};
use tokio::{sync::watch, time::Instant};

use super::{
    auth::ProjectApi,
    error::{ApiError, ApiResult},
    request::RequestInfo,
    routes::route,
};
use crate::state::AppState;

/// Longest `wait`, seconds.
pub const WAIT_MAX_SECS: u64 = 30;
/// A comment line at least this often on an idle stream.
const PING_EVERY: Duration = Duration::from_secs(15);
/// How often a waiting reader looks again without a wake-up.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Changes a stream reads per page.
const STREAM_PAGE: u64 = 500;

/// The routes of this resource, relative to a project prefix.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    Router::new().merge(route("/groups/changes", get(changes)))
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// After this seq.
    Seq(i64),
    /// At the head.
    Now,
}

/// The query of `GET /groups/changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesParams {
    /// `since` (or `Last-Event-ID`, which wins).
    pub since: Since,
    /// `group_type_index`.
    pub index: Option<GroupTypeIndex>,
    /// `limit`, 1–1000 (default 100).
    pub limit: u64,
    /// `wait`, 0–30 s.
    pub wait: u64,
}

fn seq_param(raw: &str) -> ApiResult<i64> {
    match groupd_core::parse_int(raw) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(ApiError::not_an_integer("since")),
    }
}

impl ChangesParams {
    /// Reads and checks the query (and the `Last-Event-ID` header).
    pub fn parse(req: &RequestInfo) -> ApiResult<Self> {
        let last_event_id = req
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let since = match (last_event_id, req.non_empty_param("since")) {
            (Some(id), _) => Since::Seq(seq_param(id)?),
            (None, Some("now")) => Since::Now,
            (None, Some(raw)) => Since::Seq(seq_param(raw)?),
            (None, None) => return Err(ApiError::required_param("since")),
        };
        let index = match req.non_empty_param("group_type_index") {
            None => None,
            Some(raw) => Some(
                GroupTypeIndex::parse_str(raw)
                    .ok_or_else(|| ApiError::not_an_integer("group_type_index"))?,
            ),
        };
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
        let wait = match req.non_empty_param("wait").map(groupd_core::parse_int) {
            None => 0,
            Some(Some(n @ 0..=30)) => n as u64,
            Some(_) => {
                return Err(ApiError::invalid(
                    "wait",
                    format!("Ensure this value is an integer between 0 and {WAIT_MAX_SECS}."),
                ));
            }
        };
        Ok(Self {
            since,
            index,
            limit,
            wait,
        })
    }
}

fn wants_event_stream(req: &RequestInfo) -> bool {
    req.headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// GET /groups/changes — changes after `since`, as JSON or server-sent events.
#[utoipa::path(get, path = "/api/projects/{project_id}/groups/changes", tag = "changes",
    params(("project_id" = String, Path), ("since" = String, Query, description = "A seq, or `now`"),
           ("group_type_index" = Option<i64>, Query), ("limit" = Option<u32>, Query),
           ("wait" = Option<u32>, Query, description = "0–30 s long poll")),
    responses((status = 200, description = "Changes after `since` (or `text/event-stream` of changes when asked by `Accept`)", content((super::schema::ChangePage = "application/json"), (super::schema::GroupChange = "text/event-stream"))),
              (status = 400, body = super::error::ErrorBody), (status = 410, body = super::error::ErrorBody)))]
pub async fn changes(State(state): State<AppState>, api: ProjectApi) -> ApiResult<Response> {
    api.require(Scope::GroupRead)?;
    let params = ChangesParams::parse(&api.req)?;
    let project = api.project_id();
    let store = &state.store;
    let read = |since: i64, limit: u64| {
        store.changes(ChangesQuery {
            project,
            since,
            index: params.index,
            limit,
        })
    };
    // `now` starts at the head; an empty read gives it.
    let mut page = read(i64::MAX, 1).await?;
    let since = match params.since {
        Since::Now => page.head,
        Since::Seq(s) => {
            page = read(s, params.limit).await?;
            s
        }
    };
    if since < page.oldest - 1 {
        return Err(ApiError::gone(
            "cursor_expired",
            format!(
                "Changes after {since} are no longer kept (the oldest kept is {}); re-read the groups and resume from head {}.",
                page.oldest, page.head
            ),
            "since",
        ));
    }
    if params.since == Since::Now {
        page = read(since, params.limit).await?;
    }
    if wants_event_stream(&api.req) {
        let stream = event_stream(
            state.store.clone(),
            project,
            params.index,
            since,
            page.results,
        );
        return Ok(Sse::new(stream).into_response());
    }
    if page.results.is_empty() && params.wait > 0 {
        let deadline = Instant::now() + Duration::from_secs(params.wait);
        let mut signal = state.store.change_signal();
        while page.results.is_empty() && Instant::now() < deadline {
            wake_or_poll(&mut signal, deadline).await;
            page = read(since, params.limit).await?;
        }
    }
    Ok(Json(page_json(&page)).into_response())
}

/// Waits for a wake-up, at most a poll interval and never past `deadline`.
async fn wake_or_poll(signal: &mut watch::Receiver<u64>, deadline: Instant) {
    let until = (Instant::now() + POLL_EVERY).min(deadline);
    tokio::select! {
        r = signal.changed() => {
            if r.is_err() {
                tokio::time::sleep_until(until).await;
            }
        }
        () = tokio::time::sleep_until(until) => {}
    }
}

fn page_json(page: &ChangePage) -> Value {
    json!({
        "results": page.results.iter().map(change_json).collect::<Vec<_>>(),
        "next_since": page.next_since,
        "head": page.head,
    })
}

/// One change as the API shows it.
pub fn change_json(c: &GroupChange) -> Value {
    json!({
        "seq": c.seq,
        "kind": c.kind.as_str(),
        "group_type_index": c.index.0,
        "group_type": c.group_type,
        "group_key": c.key,
        "changes": c.changes,
        "event_time": format_us(c.event_time),
        "recorded_at": format_us(c.recorded_at),
        "source": c.source.to_json(),
    })
}

/// What the stream has in hand.
struct Follow {
    store: std::sync::Arc<dyn Store>,
    project: ProjectId,
    index: Option<GroupTypeIndex>,
    cursor: i64,
    queued: VecDeque<GroupChange>,
    signal: watch::Receiver<u64>,
    last_sent: Instant,
    started: bool,
}

/// Every change after `since` (`first` already read), then live, with a ping when idle. A store
/// failure ends the stream; the client reconnects with `Last-Event-ID`.
fn event_stream(
    store: std::sync::Arc<dyn Store>,
    project: ProjectId,
    index: Option<GroupTypeIndex>,
    since: i64,
    first: Vec<GroupChange>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let cursor = first.last().map_or(since, |c| c.seq);
    let signal = store.change_signal();
    let follow = Follow {
        store,
        project,
        index,
        cursor,
        queued: first.into(),
        signal,
        last_sent: Instant::now(),
        started: false,
    };
    stream::unfold(Some(follow), |f| async move {
        let mut f = f?;
        if !f.started {
            f.started = true;
            let hello = Event::default()
                .retry(Duration::from_secs(2))
                .comment("ping");
            return Some((Ok(hello), Some(f)));
        }
        loop {
            if let Some(c) = f.queued.pop_front() {
                f.last_sent = Instant::now();
                let event = Event::default()
                    .id(c.seq.to_string())
                    .event(format!("group.{}", c.kind.as_str()))
                    .data(change_json(&c).to_string());
                return Some((Ok(event), Some(f)));
            }
            let page = f
                .store
                .changes(ChangesQuery {
                    project: f.project,
                    since: f.cursor,
                    index: f.index,
                    limit: STREAM_PAGE,
                })
                .await;
            let Ok(page) = page else {
                return None;
            };
            if !page.results.is_empty() {
                f.cursor = page.results.last().map_or(f.cursor, |c| c.seq);
                f.queued.extend(page.results);
                continue;
            }
            // A type filter may skip changes: move past them.
            f.cursor = f.cursor.max(page.next_since);
            let ping_at = f.last_sent + PING_EVERY;
            if Instant::now() >= ping_at {
                f.last_sent = Instant::now();
                return Some((Ok(Event::default().comment("ping")), Some(f)));
            }
            wake_or_poll(&mut f.signal, ping_at).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> RequestInfo {
        RequestInfo::for_test(q)
    }

    #[test]
    fn since_is_required_and_wait_bounded() {
        let e = ChangesParams::parse(&req("/c")).expect_err("refused");
        assert_eq!(e.describe().3.as_deref(), Some("since"));
        for bad in ["/c?since=-1", "/c?since=x"] {
            let e = ChangesParams::parse(&req(bad)).expect_err("refused");
            assert_eq!(e.describe().3.as_deref(), Some("since"), "{bad}");
        }
        let e = ChangesParams::parse(&req("/c?since=0&wait=31")).expect_err("refused");
        assert_eq!(e.describe().3.as_deref(), Some("wait"));
        let p = ChangesParams::parse(&req("/c?since=now&wait=30&limit=5")).unwrap();
        assert_eq!((p.since, p.wait, p.limit), (Since::Now, 30, 5));
    }
}
