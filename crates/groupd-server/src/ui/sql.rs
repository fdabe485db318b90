//! The SQL page: HogQL through `POST /query/` (scope `query:read`), the result as a table and,
//! when the first column is a date or time and the others numbers, as a line chart. A refused
//! query shows the server's detail next to the query.
use askama::Template;
use axum::{
    Extension,
    extract::{Path, Query, State},
    http::{Method, StatusCode},
    response::Response,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Rest, UiResult,
    layout::{Layout, Section, parse_project, show_value},
    render,
    session::Session,
    svg,
};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct SqlQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "sql.html")]
struct SqlPage {
    layout: Layout,
    q: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    chart: String,
    error: Option<String>,
    ran: bool,
}

const EXAMPLE: &str =
    "SELECT toDate(timestamp) AS day, count() AS events\nFROM events\nGROUP BY day\nORDER BY day";

/// `GET /ui/projects/{id}/sql?q=…`.
pub async fn page(
    State(state): State<AppState>,
    Extension(rest): Extension<Rest>,
    session: Session,
    Path(project_id): Path<String>,
    Query(q): Query<SqlQuery>,
) -> UiResult<Response> {
    let project_id = parse_project(&project_id)?;
    let layout = Layout::load(
        &state,
        &rest,
        &session,
        project_id,
        None,
        Section::Sql,
        "SQL",
    )
    .await?;
    let mut page = SqlPage {
        layout,
        q: if q.q.is_empty() {
            EXAMPLE.to_owned()
        } else {
            q.q.clone()
        },
        columns: Vec::new(),
        rows: Vec::new(),
        chart: String::new(),
        error: None,
        ran: !q.q.trim().is_empty(),
    };
    let mut status = StatusCode::OK;
    if page.ran {
        let out = rest
            .call(
                &session.key,
                Method::POST,
                &format!("/api/projects/{project_id}/query/"),
                Some(json!({"query": {"kind": "HogQLQuery", "query": q.q}})),
            )
            .await;
        match out {
            Ok(out) => {
                page.columns = out["columns"]
                    .as_array()
                    .map(|c| c.iter().map(show_value).collect())
                    .unwrap_or_default();
                let results = out["results"].as_array().cloned().unwrap_or_default();
                page.rows = results
                    .iter()
                    .map(|r| {
                        r.as_array()
                            .map(|cells| cells.iter().map(show_value).collect())
                            .unwrap_or_default()
                    })
                    .collect();
                page.chart = chart(&out["types"], &page.columns, &results);
            }
            Err(e) => {
                status = e.status;
                page.error = Some(e.detail);
            }
        }
    }
    Ok(super::with_status(status, render(&page)))
}

fn is_time(t: &str) -> bool {
    t.starts_with("Date")
}

fn is_number(t: &str) -> bool {
    let t = t.trim_start_matches("Nullable(");
    t.starts_with("Int")
        || t.starts_with("UInt")
        || t.starts_with("Float")
        || t.starts_with("Decimal")
}

/// The line chart, when the result fits one (else empty).
fn chart(types: &Value, columns: &[String], results: &[Value]) -> String {
    let types: Vec<&str> = types
        .as_array()
        .map(|ts| ts.iter().map(|t| t[1].as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    let fits = types.len() >= 2
        && is_time(types[0])
        && types[1..].iter().all(|t| is_number(t))
        && results.len() >= 2;
    if !fits {
        return String::new();
    }
    let labels: Vec<String> = results.iter().map(|r| show_value(&r[0])).collect();
    let series: Vec<(String, Vec<f64>)> = (1..types.len())
        .map(|c| {
            (
                columns.get(c).cloned().unwrap_or_default(),
                results
                    .iter()
                    .map(|r| r[c].as_f64().unwrap_or(f64::NAN))
                    .collect(),
            )
        })
        .collect();
    svg::lines("Query result", &labels, &series)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_chart_needs_a_time_column_then_numbers() {
        let rows = [json!(["2026-05-01", 1]), json!(["2026-05-02", 3])];
        let cols = ["day".to_owned(), "n".to_owned()];
        let ok = json!([["day", "Date"], ["n", "UInt64"]]);
        assert!(super::chart(&ok, &cols, &rows).contains("<polyline"));
        let no = json!([["day", "String"], ["n", "UInt64"]]);
        assert!(super::chart(&no, &cols, &rows).is_empty());
    }
}
