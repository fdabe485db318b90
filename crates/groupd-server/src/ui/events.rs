//! A group's Events tab: its latest 100 events and a chart of events per day over the last 30
//! days, both read through `POST /query/` (HogQL, scope `query:read`).
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

/// From when the latest `n` events are certain to lie, given the events per day from some day
/// on (`(day start µs, count)`, any order): the start of the latest day by which `n` have
/// happened; `None` when fewer than `n` are counted (older events may be among the latest).
fn latest_since(per_day: &[(i64, i64)], n: i64) -> Option<i64> {
    let mut days = per_day.to_vec();
    days.sort_unstable_by_key(|d| std::cmp::Reverse(d.0));
    let mut seen = 0;
    days.into_iter().find_map(|(day, count)| {
        seen += count;
        (seen >= n).then_some(day)
    })
}

/// Reads the tab's data: first the events per day of the last 30 days (one aggregate), then
/// the latest 100 events, read from the day by which the counts show 100 have happened, so a
/// busy group's latest events are read from its last days only. Two queries on purpose: one
/// `UNION ALL` of both loses that bound and reads 30 days of rows for the list (measured at
/// 100k groups, 40k events in the group, debug build: 119 ms against 51 + 13 ms).
pub async fn load(
    state: &AppState,
    rest: &Rest,
    session: &Session,
    project_id: i64,
    index: i64,
    key: &str,
) -> Result<EventsTab, RestError> {
    let k = literal(key);
    // Days are UTC days on the server's clock: today and the 29 before it.
    let today = state.clock.now_us().div_euclid(DAY_US);
    let first = today - 29;
    let per_day = hogql(
        rest,
        session,
        project_id,
        format!(
            "SELECT toDate(timestamp) AS day, count() AS n FROM events \
             WHERE $group_{index} = {k} AND timestamp >= {} \
             GROUP BY day ORDER BY day",
            datetime(first * DAY_US)
        ),
    )
    .await?;
    let counted: Vec<(i64, i64)> = per_day["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let day = r[0].as_str()?.get(..10)?;
            let start = groupd_core::time_fmt::parse_rfc3339_us(&format!("{day}T00:00:00Z"))?;
            Some((start, r[1].as_i64()?))
        })
        .collect();
    let bound = latest_since(&counted, LATEST)
        .map(|since| format!(" AND timestamp >= {}", datetime(since)))
        .unwrap_or_default();
    let latest = hogql(
        rest,
        session,
        project_id,
        format!(
            "SELECT timestamp, event, distinct_id FROM events WHERE $group_{index} = {k}{bound} \
             ORDER BY timestamp DESC LIMIT {LATEST}"
        ),
    )
    .await?;
    let rows = latest["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| EventRow {
                    time: Time::from_iso(r[0].as_str().unwrap_or("")),
                    event: show_value(&r[1]),
                    distinct_id: show_value(&r[2]),
                })
                .collect()
        })
        .unwrap_or_default();
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

    #[test]
    fn the_latest_events_are_read_from_the_day_the_counts_reach_them() {
        use super::latest_since;
        // Day 5 (today) 60, day 3 30, day 1 20: 100 are reached on day 1.
        assert_eq!(latest_since(&[(1, 20), (5, 60), (3, 30)], 100), Some(1));
        assert_eq!(latest_since(&[(5, 100)], 100), Some(5));
        assert_eq!(
            latest_since(&[(5, 60), (3, 39)], 100),
            None,
            "older ones may count"
        );
        assert_eq!(latest_since(&[], 100), None);
    }
}
