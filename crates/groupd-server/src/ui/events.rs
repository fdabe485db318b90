//! A group's Events tab: its latest 100 events and a chart of events per day over the last 30
//! days, both read through `POST /query/` (HogQL, scope `query:read`), in one query for a group
//! with 100 events in those days.
use axum::http::Method;
use serde_json::{Value, json};

use super::{
    Rest,
    layout::{Time, show_value},
    rest::RestError,
    session::Session,
    svg,
};
use crate::state::AppState;

const DAY_US: i64 = 86_400_000_000;

/// An event row.
pub struct EventRow {
    pub time: Time,
    pub event: String,
    pub distinct_id: String,
}

/// What the tab shows.
pub struct EventsTab {
    pub rows: Vec<EventRow>,
    pub chart: String,
    pub total_30d: i64,
}

/// `s` as a HogQL string literal (backslash and quote escaped).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

async fn hogql(
    rest: &Rest,
    session: &Session,
    project_id: i64,
    sql: String,
) -> Result<Value, RestError> {
    rest.call(
        &session.key,
        Method::POST,
        &format!("/api/projects/{project_id}/query/"),
        Some(json!({"query": {"kind": "HogQLQuery", "query": sql}})),
    )
    .await
}

/// The timestamp literal of UTC µs `us` (`toDateTime('YYYY-MM-DD hh:mm:ss')`).
fn datetime(us: i64) -> String {
    let iso = groupd_core::time_fmt::format_us(us);
    format!("toDateTime({})", literal(&iso[..19].replace('T', " ")))
}

/// A result row's time (UTC µs) from the answer's ISO text.
fn time_us(v: &Value) -> Option<i64> {
    groupd_core::time_fmt::parse_rfc3339_us(v.as_str()?)
}

fn event_row(timestamp: &Value, event: &Value, distinct_id: &Value) -> EventRow {
    EventRow {
        time: Time::from_iso(timestamp.as_str().unwrap_or("")),
        event: show_value(event),
        distinct_id: show_value(distinct_id),
    }
}

/// Reads the tab's data in one query: the events per day from 30 days ago on, and the latest
/// 100 events of those same days (`UNION ALL`; both scans skip the older segments). Only a
/// group with fewer than 100 events since then needs a second query, for its older ones.
pub async fn load(
    state: &AppState,
    rest: &Rest,
    session: &Session,
    project_id: i64,
    index: i64,
    key: &str,
) -> Result<EventsTab, RestError> {
    let group = format!("$group_{index} = {}", literal(key));
    // Days are UTC days on the server's clock: today and the 29 before it.
    let today = state.clock.now_us().div_euclid(DAY_US);
    let first = today - 29;
    let since = datetime(first * DAY_US);
    let both = hogql(
        rest,
        session,
        project_id,
        format!(
            "SELECT 'day' AS part, toStartOfDay(timestamp) AS t, '' AS e, '' AS d, count() AS n \
             FROM events WHERE {group} AND timestamp >= {since} GROUP BY t \
             UNION ALL \
             SELECT 'event', timestamp, event, distinct_id, 0 FROM (SELECT timestamp, event, \
             distinct_id FROM events WHERE {group} AND timestamp >= {since} \
             ORDER BY timestamp DESC LIMIT {LATEST}) \
             LIMIT {}",
            // Every day row (30, and up to a day ahead: capture takes events 23 h early) and
            // every event row.
            LATEST + 32
        ),
    )
    .await?;
    let mut counted: Vec<(i64, i64)> = Vec::new();
    let mut latest: Vec<(i64, EventRow)> = Vec::new();
    for r in both["results"].as_array().into_iter().flatten() {
        let Some(at) = time_us(&r[1]) else { continue };
        if r[0] == "day" {
            counted.push((at, r[4].as_i64().unwrap_or(0)));
        } else {
            latest.push((at, event_row(&r[1], &r[2], &r[3])));
        }
    }
    // The union keeps no order: newest first, as the list shows them.
    latest.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let mut rows: Vec<EventRow> = latest.into_iter().map(|(_, r)| r).collect();
    let since_then: i64 = counted.iter().map(|(_, n)| n).sum();
    if since_then < LATEST {
        let older = hogql(
            rest,
            session,
            project_id,
            format!(
                "SELECT timestamp, event, distinct_id FROM events WHERE {group} \
                 AND timestamp < {since} ORDER BY timestamp DESC LIMIT {}",
                LATEST - since_then
            ),
        )
        .await?;
        rows.extend(
            older["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| event_row(&r[0], &r[1], &r[2])),
        );
    }
    let mut values = vec![0.0; (today - first + 1) as usize];
    for (day_us, n) in &counted {
        if let Ok(i) = usize::try_from(day_us.div_euclid(DAY_US) - first)
            && let Some(v) = values.get_mut(i)
        {
            *v = *n as f64;
        }
    }
    let labels: Vec<String> = (first..=today)
        .map(|d| groupd_core::time_fmt::format_us(d * DAY_US)[..10].to_owned())
        .collect();
    Ok(EventsTab {
        rows,
        total_30d: values.iter().sum::<f64>() as i64,
        chart: svg::bars("Events per day, last 30 days", &labels, &values),
    })
}

/// How many of the latest events the tab lists.
const LATEST: i64 = 100;

#[cfg(test)]
mod tests {
    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(super::literal(r"a'b\c"), r"'a\'b\\c'");
    }
}
