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

/// Reads the tab's data.
pub async fn load(
    state: &AppState,
    rest: &Rest,
    session: &Session,
    project_id: i64,
    index: i64,
    key: &str,
) -> Result<EventsTab, RestError> {
    let k = literal(key);
    let latest = hogql(
        rest,
        session,
        project_id,
        format!(
            "SELECT timestamp, event, distinct_id FROM events WHERE $group_{index} = {k} \
             ORDER BY timestamp DESC LIMIT 100"
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
    // Days are UTC days on the server's clock: today and the 29 before it.
    let today = state.clock.now_us().div_euclid(DAY_US);
    let first = today - 29;
    let since = groupd_core::time_fmt::format_us(first * DAY_US);
    let per_day = hogql(
        rest,
        session,
        project_id,
        format!(
            "SELECT toDate(timestamp) AS day, count() AS n FROM events \
             WHERE $group_{index} = {k} AND timestamp >= toDateTime({}) \
             GROUP BY day ORDER BY day",
            literal(&since[..19].replace('T', " "))
        ),
    )
    .await?;
    let labels: Vec<String> = (first..=today)
        .map(|d| groupd_core::time_fmt::format_us(d * DAY_US)[..10].to_owned())
        .collect();
    let mut values = vec![0.0; labels.len()];
    for r in per_day["results"].as_array().into_iter().flatten() {
        let day = r[0].as_str().unwrap_or("");
        if let Some(i) = labels.iter().position(|l| day.starts_with(l.as_str())) {
            values[i] = r[1].as_f64().unwrap_or(0.0);
        }
    }
    Ok(EventsTab {
        rows,
        total_30d: values.iter().sum::<f64>() as i64,
        chart: svg::bars("Events per day, last 30 days", &labels, &values),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(super::literal(r"a'b\c"), r"'a\'b\\c'");
    }
}
