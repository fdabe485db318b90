//! The parity reads on PostgreSQL: a project's events by time (the `events_by_time` index of
//! migration 0005), usage metrics, typed property definitions. The events read is kept here
//! alone so it can move to the analytics segments without touching the rest.
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use groupd_core::{GroupTypeIndex, ProjectId, groups::PropertyType};
use tokio_postgres::Row;

use super::{
    PgStore,
    error::is_unique_violation,
    rows::{select_all, select_one},
    values::{Ts, nul_safe, pg_index},
};
use crate::{
    ConflictOn, EventWindow, EventsOf, StoreError, StoreResult, TypeRef, TypedProperty,
    TypedPropertyQuery, UsageMetric, UsageStore, WindowEvent, to_json_text,
};

const METRIC_COLS: &str = "id, project_id, group_type_index, name, format, interval_days, display, \
                           filters, math, math_property, created_at";

fn metric_from_row(r: &Row) -> UsageMetric {
    let filters: String = r.get(7);
    let interval: i32 = r.get(5);
    let index: i32 = r.get(2);
    UsageMetric {
        id: r.get(0),
        project: ProjectId(r.get(1)),
        index: GroupTypeIndex(index.into()),
        name: r.get(3),
        format: r.get(4),
        interval: interval.into(),
        display: r.get(6),
        filters: serde_json::from_str(&filters).unwrap_or_default(),
        math: r.get(8),
        math_property: r.get(9),
        created_at: r.get::<_, Ts>(10).0,
    }
}

/// A unique violation on a metric write is its name.
fn name_taken(e: tokio_postgres::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(ConflictOn::MetricName)
    } else {
        e.into()
    }
}

/// The metric's columns that a write binds, made storable.
struct Bound {
    index: i32,
    interval: i32,
    name: String,
    filters: String,
    math_property: Option<String>,
}

impl Bound {
    fn of(m: &UsageMetric) -> StoreResult<Self> {
        Ok(Self {
            index: pg_index(m.index).ok_or(StoreError::NotFound)?,
            // The API bounds the interval to 1–365 days.
            interval: i32::try_from(m.interval).unwrap_or(i32::MAX),
            name: nul_safe(&m.name).into_owned(),
            filters: super::values::jsonb_safe(&to_json_text(&m.filters)?).into_owned(),
            math_property: m.math_property.as_deref().map(|p| nul_safe(p).into_owned()),
        })
    }
}

async fn typed_properties(
    c: &impl GenericClient,
    project: ProjectId,
    q: &TypedPropertyQuery,
) -> StoreResult<(Vec<TypedProperty>, u64)> {
    let Some(index) = pg_index(q.index) else {
        return Ok((Vec::new(), 0));
    };
    const MATCHING: &str = "FROM group_prop_keys k
         LEFT JOIN group_prop_types t
           ON t.project_id = k.project_id AND t.group_type_index = k.group_type_index AND t.key_hash = k.key_hash
         WHERE k.project_id = $1 AND k.group_type_index = $2 AND k.groups > 0
           AND ($3::text IS NULL OR strpos(lower(k.key), $3) > 0)";
    let search = q
        .search
        .as_deref()
        .map(|s| nul_safe(&s.to_lowercase()).into_owned());
    let total: i64 = select_one(
        c,
        &format!("SELECT count(*) {MATCHING}"),
        &[&project.0, &index, &search],
        |r| r.get(0),
    )
    .await?
    .unwrap_or(0);
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
    let rows = select_all(
        c,
        &format!("SELECT k.key, t.property_type {MATCHING} ORDER BY k.key LIMIT $4 OFFSET $5"),
        &[&project.0, &index, &search, &limit, &offset],
        |r| TypedProperty {
            name: r.get(0),
            property_type: r
                .get::<_, Option<String>>(1)
                .as_deref()
                .and_then(PropertyType::parse),
        },
    )
    .await?;
    Ok((rows, total as u64))
}

#[async_trait]
impl UsageStore for PgStore {
    async fn window_events(&self, w: EventWindow) -> StoreResult<Vec<WindowEvent>> {
        let (distinct_id, position, key) = match &w.only {
            None => (None, None, None),
            Some(EventsOf::DistinctId(d)) => (Some(nul_safe(d).into_owned()), None, None),
            Some(EventsOf::Group(i, k)) => {
                // Arrays are 1-based; an index no column holds has no events.
                let Some(p) = pg_index(*i).and_then(|i| i.checked_add(1)) else {
                    return Ok(Vec::new());
                };
                (None, Some(p), Some(nul_safe(k).into_owned()))
            }
        };
        let c = self.client().await?;
        select_all(
            &c,
            "SELECT event, distinct_id, timestamp, properties::text, group_keys, created_at FROM events
             WHERE project_id = $1 AND timestamp >= $2 AND ($3::timestamptz IS NULL OR timestamp <= $3)
               AND ($4::text IS NULL OR distinct_id = $4)
               AND ($5::int4 IS NULL OR group_keys[$5] = $6)
             ORDER BY timestamp",
            &[
                &w.project.0,
                &Ts(w.since_us),
                &w.until_us.map(Ts),
                &distinct_id,
                &position,
                &key,
            ],
            |r| WindowEvent {
                event: r.get(0),
                distinct_id: r.get(1),
                timestamp_us: r.get::<_, Ts>(2).0,
                created_at_us: r.get::<_, Ts>(5).0,
                properties: r.get(3),
                group_keys: r.get(4),
            },
        )
        .await
    }

    async fn reused_type_indexes(&self, project: ProjectId) -> StoreResult<Vec<GroupTypeIndex>> {
        let c = self.client().await?;
        select_all(
            &c,
            "SELECT group_type_index FROM group_types_reused WHERE project_id = $1 ORDER BY 1",
            &[&project.0],
            |r| GroupTypeIndex(r.get::<_, i32>(0).into()),
        )
        .await
    }

    async fn list_usage_metrics(&self, t: TypeRef) -> StoreResult<Vec<UsageMetric>> {
        let Some(index) = pg_index(t.index) else {
            return Ok(Vec::new());
        };
        let c = self.client().await?;
        select_all(
            &c,
            &format!(
                "SELECT {METRIC_COLS} FROM usage_metrics WHERE project_id = $1 AND group_type_index = $2
                 ORDER BY created_at, id"
            ),
            &[&t.project.0, &index],
            metric_from_row,
        )
        .await
    }

    async fn get_usage_metric(
        &self,
        t: TypeRef,
        id: uuid::Uuid,
    ) -> StoreResult<Option<UsageMetric>> {
        let Some(index) = pg_index(t.index) else {
            return Ok(None);
        };
        let c = self.client().await?;
        select_one(
            &c,
            &format!(
                "SELECT {METRIC_COLS} FROM usage_metrics
                 WHERE project_id = $1 AND group_type_index = $2 AND id = $3"
            ),
            &[&t.project.0, &index, &id],
            metric_from_row,
        )
        .await
    }

    async fn create_usage_metric(&self, m: UsageMetric) -> StoreResult<UsageMetric> {
        let b = Bound::of(&m)?;
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "INSERT INTO usage_metrics ({METRIC_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 RETURNING {METRIC_COLS}"
            ))
            .await?;
        let row = c
            .query_one(
                &st,
                &[
                    &m.id,
                    &m.project.0,
                    &b.index,
                    &b.name,
                    &m.format,
                    &b.interval,
                    &m.display,
                    &b.filters,
                    &m.math,
                    &b.math_property,
                    &Ts(m.created_at),
                ],
            )
            .await
            .map_err(name_taken)?;
        Ok(metric_from_row(&row))
    }

    async fn update_usage_metric(&self, m: UsageMetric) -> StoreResult<UsageMetric> {
        let b = Bound::of(&m)?;
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "UPDATE usage_metrics SET name = $4, format = $5, interval_days = $6, display = $7,
                   filters = $8, math = $9, math_property = $10
                 WHERE project_id = $1 AND group_type_index = $2 AND id = $3
                 RETURNING {METRIC_COLS}"
            ))
            .await?;
        let row = c
            .query_opt(
                &st,
                &[
                    &m.project.0,
                    &b.index,
                    &m.id,
                    &b.name,
                    &m.format,
                    &b.interval,
                    &m.display,
                    &b.filters,
                    &m.math,
                    &b.math_property,
                ],
            )
            .await
            .map_err(name_taken)?;
        row.as_ref()
            .map(metric_from_row)
            .ok_or(StoreError::NotFound)
    }

    async fn delete_usage_metric(&self, t: TypeRef, id: uuid::Uuid) -> StoreResult<()> {
        let index = pg_index(t.index).ok_or(StoreError::NotFound)?;
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM usage_metrics WHERE project_id = $1 AND group_type_index = $2 AND id = $3",
                &[&t.project.0, &index, &id],
            )
            .await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn typed_properties(
        &self,
        project: ProjectId,
        q: TypedPropertyQuery,
    ) -> StoreResult<(Vec<TypedProperty>, u64)> {
        let c = self.client().await?;
        typed_properties(&c, project, &q).await
    }
}
