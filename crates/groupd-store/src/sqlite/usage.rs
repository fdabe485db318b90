//! The parity reads on SQLite: a project's events by time (the `events_by_time` index of
//! migration 0007), usage metrics, typed property definitions. The events read is kept here
//! alone so it can move to the analytics segments without touching the rest.
use async_trait::async_trait;
use groupd_core::{GroupTypeIndex, ProjectId, groups::PropertyType};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, error::is_unique_violation};
use crate::{
    ConflictOn, EventWindow, EventsOf, StoreError, StoreResult, TypeRef, TypedProperty,
    TypedPropertyQuery, UsageMetric, UsageStore, WindowEvent, to_json_text,
};

const METRIC_COLS: &str = "id, project_id, group_type_index, name, format, interval_days, display, \
                           filters, math, math_property, created_at";

fn metric_from_row(r: &Row<'_>) -> rusqlite::Result<UsageMetric> {
    let id: String = r.get(0)?;
    let filters: String = r.get(7)?;
    Ok(UsageMetric {
        id: uuid::Uuid::parse_str(&id).unwrap_or_default(),
        project: ProjectId(r.get(1)?),
        index: GroupTypeIndex(r.get(2)?),
        name: r.get(3)?,
        format: r.get(4)?,
        interval: r.get(5)?,
        display: r.get(6)?,
        filters: serde_json::from_str(&filters).unwrap_or_default(),
        math: r.get(8)?,
        math_property: r.get(9)?,
        created_at: r.get(10)?,
    })
}

fn get_metric(c: &Connection, t: TypeRef, id: uuid::Uuid) -> StoreResult<Option<UsageMetric>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {METRIC_COLS} FROM usage_metrics WHERE project_id = ?1 AND group_type_index = ?2 AND id = ?3"
    ))?
    .query_row(params![t.project.0, t.index.0, id.to_string()], metric_from_row)
    .optional()?)
}

/// A unique violation on a metric write is its name.
fn name_taken(e: rusqlite::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(ConflictOn::MetricName)
    } else {
        e.into()
    }
}

/// A project's events in a time window, in time order off `events_by_time` (no sort).
const WINDOW: &str =
    "SELECT event, distinct_id, timestamp, properties, group_keys, created_at FROM events
     WHERE project_id = ?1 AND timestamp >= ?2 AND timestamp <= ?3
       AND (?4 IS NULL OR distinct_id = ?4) AND (?5 IS NULL OR instr(group_keys, ?5) > 0)
     ORDER BY timestamp";

/// The rows matching a typed-property listing: names of the count table in key order, each
/// joined to its type by primary key.
const TYPED_MATCHING: &str = "FROM group_prop_keys k
     LEFT JOIN group_prop_types t
       ON t.project_id = k.project_id AND t.group_type_index = k.group_type_index AND t.key = k.key
     WHERE k.project_id = ?1 AND k.group_type_index = ?2 AND k.groups > 0
       AND (?3 IS NULL OR instr(groupd_lower(k.key), ?3) > 0)";

fn window_events(c: &Connection, w: &EventWindow) -> StoreResult<Vec<WindowEvent>> {
    let (distinct_id, group_key) = match &w.only {
        None => (None, None),
        Some(EventsOf::DistinctId(d)) => (Some(d.clone()), None),
        // The key's JSON text inside the array text: a superset, checked by the caller.
        Some(EventsOf::Group(_, k)) => (None, Some(to_json_text(k)?)),
    };
    let mut st = c.prepare_cached(WINDOW)?;
    let until = w.until_us.unwrap_or(i64::MAX);
    let rows = st.query_map(
        params![w.project.0, w.since_us, until, distinct_id, group_key],
        |r| {
            let keys: String = r.get(4)?;
            Ok(WindowEvent {
                event: r.get(0)?,
                distinct_id: r.get(1)?,
                timestamp_us: r.get(2)?,
                created_at_us: r.get(5)?,
                properties: r.get(3)?,
                group_keys: serde_json::from_str(&keys).unwrap_or_default(),
            })
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn typed_properties(
    c: &Connection,
    project: ProjectId,
    q: &TypedPropertyQuery,
) -> StoreResult<(Vec<TypedProperty>, u64)> {
    let search = q.search.as_deref().map(str::to_lowercase);
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) {TYPED_MATCHING}"))?
        .query_row(params![project.0, q.index.0, search], |r| r.get(0))?;
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
    let mut st = c.prepare_cached(&format!(
        "SELECT k.key, t.property_type {TYPED_MATCHING} ORDER BY k.key LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = st.query_map(params![project.0, q.index.0, search, limit, offset], |r| {
        let t: Option<String> = r.get(1)?;
        Ok(TypedProperty {
            name: r.get(0)?,
            property_type: t.as_deref().and_then(PropertyType::parse),
        })
    })?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, total as u64))
}

#[async_trait]
impl UsageStore for SqliteStore {
    async fn window_events(&self, w: EventWindow) -> StoreResult<Vec<WindowEvent>> {
        self.readers.read(move |c| window_events(c, &w)).await
    }

    async fn reused_type_indexes(&self, project: ProjectId) -> StoreResult<Vec<GroupTypeIndex>> {
        self.readers
            .read_inline(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT group_type_index FROM group_types_reused WHERE project_id = ?1 ORDER BY 1",
                )?;
                let rows = st.query_map([project.0], |r| Ok(GroupTypeIndex(r.get(0)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn list_usage_metrics(&self, t: TypeRef) -> StoreResult<Vec<UsageMetric>> {
        self.readers
            .read_inline(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "SELECT {METRIC_COLS} FROM usage_metrics WHERE project_id = ?1 AND group_type_index = ?2
                     ORDER BY created_at, id"
                ))?;
                let rows = st.query_map(params![t.project.0, t.index.0], metric_from_row)?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn get_usage_metric(
        &self,
        t: TypeRef,
        id: uuid::Uuid,
    ) -> StoreResult<Option<UsageMetric>> {
        self.readers
            .read_inline(move |c| get_metric(c, t, id))
            .await
    }

    async fn create_usage_metric(&self, m: UsageMetric) -> StoreResult<UsageMetric> {
        self.writer
            .write(move |c| {
                c.prepare_cached(&format!(
                    "INSERT INTO usage_metrics ({METRIC_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ))?
                .execute(params![
                    m.id.to_string(), m.project.0, m.index.0, m.name, m.format, m.interval,
                    m.display, to_json_text(&m.filters)?, m.math, m.math_property, m.created_at
                ])
                .map_err(name_taken)?;
                Ok(m)
            })
            .await
    }

    async fn update_usage_metric(&self, m: UsageMetric) -> StoreResult<UsageMetric> {
        self.writer
            .write(move |c| {
                let t = TypeRef { project: m.project, index: m.index };
                let n = c
                    .prepare_cached(
                        "UPDATE usage_metrics SET name = ?4, format = ?5, interval_days = ?6, display = ?7,
                           filters = ?8, math = ?9, math_property = ?10
                         WHERE project_id = ?1 AND group_type_index = ?2 AND id = ?3",
                    )?
                    .execute(params![
                        m.project.0, m.index.0, m.id.to_string(), m.name, m.format, m.interval,
                        m.display, to_json_text(&m.filters)?, m.math, m.math_property
                    ])
                    .map_err(name_taken)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                get_metric(c, t, m.id)?.ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn delete_usage_metric(&self, t: TypeRef, id: uuid::Uuid) -> StoreResult<()> {
        self.writer
            .write(move |c| {
                let n = c
                    .prepare_cached(
                        "DELETE FROM usage_metrics WHERE project_id = ?1 AND group_type_index = ?2 AND id = ?3",
                    )?
                    .execute(params![t.project.0, t.index.0, id.to_string()])?;
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            })
            .await
    }

    async fn typed_properties(
        &self,
        project: ProjectId,
        q: TypedPropertyQuery,
    ) -> StoreResult<(Vec<TypedProperty>, u64)> {
        self.readers
            .read(move |c| typed_properties(c, project, &q))
            .await
    }
}

/// Forgets a type's metrics (the type is being deleted in the same transaction): a type created
/// later at the same index starts without them.
/// Also marks the index as reused.
pub(super) fn drop_type(c: &Connection, t: TypeRef) -> StoreResult<()> {
    c.prepare_cached("DELETE FROM usage_metrics WHERE project_id = ?1 AND group_type_index = ?2")?
        .execute(params![t.project.0, t.index.0])?;
    c.prepare_cached(
        "INSERT OR IGNORE INTO group_types_reused (project_id, group_type_index) VALUES (?1, ?2)",
    )?
    .execute(params![t.project.0, t.index.0])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sql: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let c = super::super::migrate::connect(&dir.path().join("plan.db")).unwrap();
        super::super::migrate::migrate(&c).unwrap();
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let n = st.parameter_count();
        let nulls: Vec<Option<i64>> = vec![Some(1); n];
        st.query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The window read seeks the time index and needs no sort, whatever the project's size.
    #[test]
    fn the_window_read_walks_the_time_index() {
        let p = plan(WINDOW);
        assert!(p.iter().any(|l| l.contains("events_by_time")), "{p:?}");
        assert!(!p.iter().any(|l| l.contains("TEMP B-TREE")), "{p:?}");
    }

    /// A page of typed names reads the count table in key order: no sort, no scan of groups.
    #[test]
    fn typed_names_need_no_sort_and_no_groups() {
        let p = plan(&format!(
            "SELECT k.key, t.property_type {TYPED_MATCHING} ORDER BY k.key LIMIT ?4 OFFSET ?5"
        ));
        assert!(!p.iter().any(|l| l.contains("TEMP B-TREE")), "{p:?}");
        assert!(!p.iter().any(|l| l.contains("groups ")), "{p:?}");
        assert!(
            p.iter().any(|l| l.contains("SEARCH k USING PRIMARY KEY")),
            "{p:?}"
        );
    }
}
