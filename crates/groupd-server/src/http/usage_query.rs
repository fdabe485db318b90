//! `POST /query/` with `kind: "UsageMetricsQuery"`: the values of a group type's usage metrics for
//! one group, as PostHog's customer analytics computes them. Kept apart from the HogQL handler:
//! it reads events through the store's time-bounded read and evaluates each metric's filter with
//! the core evaluator, not through a query engine.
use groupd_analytics::segments::window::window_events;
use groupd_core::{GroupKey, GroupTypeIndex, filters::EventFilter, time_fmt::format_us};
use groupd_store::{EventWindow, EventsOf, TypeRef, UsageMetric, WindowEvent};
use serde_json::{Map, Value, json};

use super::{
    auth::ProjectApi,
    error::ApiResult,
    events_view::{Facts, GroupCache, TypeEpochs},
    fields,
};
use crate::state::AppState;

const DAY_US: i64 = 86_400 * 1_000_000;

/// The query's own fields.
#[derive(Debug, PartialEq)]
pub struct UsageQuery {
    /// The group's type.
    pub index: GroupTypeIndex,
    /// The group.
    pub key: String,
}

/// `Some(query)` when the body is a `UsageMetricsQuery` (its fields checked), `None` for any
/// other kind (the HogQL handler's to judge).
pub fn parse(body: &Value) -> ApiResult<Option<UsageQuery>> {
    let Some(q) = body.get("query").and_then(Value::as_object) else {
        return Ok(None);
    };
    if q.get("kind").and_then(Value::as_str) != Some("UsageMetricsQuery") {
        return Ok(None);
    }
    let index = fields::group_type_index_field(q)?;
    let key = fields::group_key_field(q, "group_key")?;
    Ok(Some(UsageQuery {
        index,
        key: key.as_ref().to_owned(),
    }))
}

/// The answer to a `UsageMetricsQuery`, or `None` when the body is another kind.
pub async fn dispatch(state: &AppState, api: &ProjectApi) -> ApiResult<Option<Value>> {
    let body = api.req.json_body()?;
    let Some(q) = parse(&body)? else {
        return Ok(None);
    };
    run(state, api, q).await.map(Some)
}

/// One metric's numbers.
#[derive(Debug, Default, PartialEq)]
struct Numbers {
    value: f64,
    previous: f64,
    /// Per UTC day of the current period, oldest first.
    days: Vec<f64>,
}

/// What one event adds to a metric: 1 for `count`, the property as a number for `sum` (a missing
/// or non-numeric value adds 0, HogQL's `toFloat` of it being null).
fn amount(m: &UsageMetric, facts: &Facts<'_>) -> f64 {
    match (m.math.as_str(), &m.math_property) {
        ("sum", Some(p)) => facts
            .properties
            .get(p)
            .and_then(groupd_core::filters::as_number)
            .unwrap_or(0.0),
        _ => 1.0,
    }
}

fn day_of(us: i64) -> i64 {
    us.div_euclid(DAY_US)
}

fn compute(m: &UsageMetric, filter: &EventFilter, events: &[Facts<'_>], now: i64) -> Numbers {
    let from = now - m.interval * DAY_US;
    let prev_from = now - 2 * m.interval * DAY_US;
    let first_day = day_of(from);
    let mut n = Numbers {
        days: vec![0.0; (day_of(now) - first_day + 1).max(0) as usize],
        ..Numbers::default()
    };
    for f in events.iter().filter(|f| filter.matches(*f)) {
        let ts = f.event.timestamp_us;
        if ts >= from && ts <= now {
            let a = amount(m, f);
            n.value += a;
            if let Some(d) = n.days.get_mut((day_of(ts) - first_day) as usize) {
                *d += a;
            }
        } else if ts >= prev_from && ts < from {
            n.previous += amount(m, f);
        }
    }
    n
}

async fn run(state: &AppState, api: &ProjectApi, q: UsageQuery) -> ApiResult<Value> {
    let project = api.project_id();
    let t = TypeRef {
        project,
        index: q.index,
    };
    let mut metrics: Vec<(UsageMetric, EventFilter)> = state
        .store
        .list_usage_metrics(t)
        .await?
        .into_iter()
        .filter_map(|m| {
            // Stored filters were checked on write; one that no longer compiles has no value.
            let f = EventFilter::parse(&m.filters).ok()?;
            (!f.is_empty()).then_some((m, f))
        })
        .collect();
    metrics.sort_by(|a, b| b.0.name.cmp(&a.0.name));
    let now = state.clock.now_us();
    let longest = metrics.iter().map(|(m, _)| m.interval).max().unwrap_or(0);
    let epochs = TypeEpochs::load(&*state.store, project).await?;
    let events: Vec<WindowEvent> = if metrics.is_empty() {
        Vec::new()
    } else {
        let window = EventWindow {
            project,
            since_us: now - 2 * longest * DAY_US,
            until_us: Some(now),
            only: Some(EventsOf::Group(q.index, q.key.clone())),
        };
        window_events(&*state.store, &state.segments, window)
            .await?
            .into_iter()
            .filter(|e| epochs.key(e, q.index) == q.key)
            .collect()
    };
    // The groups whose properties any filter reads, loaded once.
    let mut groups = GroupCache::default();
    let read: Vec<GroupTypeIndex> = {
        let mut v: Vec<GroupTypeIndex> = metrics
            .iter()
            .flat_map(|(_, f)| f.group_indexes())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for e in &events {
        for &i in &read {
            let k = epochs.key(e, i);
            if !k.is_empty() && GroupKey::parse(k.to_owned()).is_ok() {
                groups.load(&*state.store, project, i, k).await?;
            }
        }
    }
    let facts: Vec<Facts<'_>> = events
        .iter()
        .map(|e| Facts::new(e, &epochs, &groups))
        .collect();
    let results: Vec<Value> = metrics
        .iter()
        .map(|(m, f)| metric_values(m, &compute(m, f, &facts, now), now))
        .collect();
    Ok(json!({"results": results}))
}

fn metric_values(m: &UsageMetric, n: &Numbers, now: i64) -> Value {
    let change = (n.previous != 0.0).then(|| (n.value - n.previous) / n.previous * 100.0);
    let mut out = Map::new();
    out.insert("id".into(), json!(m.id.hyphenated().to_string()));
    out.insert("name".into(), json!(m.name));
    out.insert("format".into(), json!(m.format));
    out.insert("display".into(), json!(m.display));
    out.insert("interval".into(), json!(m.interval));
    out.insert("value".into(), json!(n.value));
    out.insert("previous".into(), json!(n.previous));
    out.insert("change_from_previous_pct".into(), json!(change));
    let (series, labels) = if m.display == "sparkline" {
        let first = day_of(now - m.interval * DAY_US);
        let labels: Vec<String> = (0..n.days.len() as i64)
            .map(|d| format_us((first + d) * DAY_US)[..10].to_owned())
            .collect();
        (json!(n.days), json!(labels))
    } else {
        (Value::Null, Value::Null)
    };
    out.insert("timeseries".into(), series);
    out.insert("timeseries_labels".into(), labels);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_kinds_are_left_to_the_hogql_handler() {
        let hogql = json!({"query": {"kind": "HogQLQuery", "query": "SELECT 1"}});
        assert_eq!(parse(&hogql).unwrap(), None);
        assert_eq!(parse(&json!({})).unwrap(), None);
        let q = json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": 0, "group_key": "acme"}});
        assert_eq!(
            parse(&q).unwrap(),
            Some(UsageQuery {
                index: GroupTypeIndex(0),
                key: "acme".into()
            })
        );
        let e =
            parse(&json!({"query": {"kind": "UsageMetricsQuery", "group_key": "a"}})).unwrap_err();
        assert_eq!(e.describe().3.as_deref(), Some("group_type_index"));
        let e = parse(&json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": 0}}))
            .unwrap_err();
        assert_eq!(e.describe().3.as_deref(), Some("group_key"));
    }
}
