//! The tables one query reads, all of them already limited to its project: `events` (the
//! snapshot's segments plus its hot tail, group keys cleared where the type is newer than the
//! event), `groups`, and `__groups_N` for the implicit joins.
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemTable, Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ScalarValue, internal_err};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::memory::{DataSourceExec, MemorySourceConfig};
use datafusion::error::Result;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    BinaryExpr, Expr, LogicalPlan, Operator, TableProviderFilterPushDown,
};
use datafusion::object_store::ObjectStore;
use datafusion::physical_plan::{ExecutionPlan, union::UnionExec};
use datafusion::prelude::SessionContext;
use groupd_core::GroupTypeIndex;
use groupd_store::{EventsSnapshot, Group, GroupType, SegmentRef, StoredEvent};
use std::sync::OnceLock;

use crate::schema::{GROUP_COLUMNS, events_scan_schema, events_schema, group_column};

/// The URL the segment store is registered under in each query's context.
const SEGMENTS_URL: &str = "groupd-segments://segments/";

fn ts(v: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

fn text<'a>(v: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

/// `events` rows as one Arrow batch of the scan schema (string views where segments read them).
fn scan_batch(rows: &[&StoredEvent]) -> Result<RecordBatch> {
    let batch = event_batch(rows)?;
    let schema = events_scan_schema();
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// `events` rows as one Arrow batch of the events schema.
fn event_batch(rows: &[&StoredEvent]) -> Result<RecordBatch> {
    let uuids: Vec<String> = rows
        .iter()
        .map(|e| e.uuid.hyphenated().to_string())
        .collect();
    let mut cols: Vec<ArrayRef> = vec![
        text(uuids.iter().map(String::as_str)),
        text(rows.iter().map(|e| e.event.as_str())),
        text(rows.iter().map(|e| e.distinct_id.as_str())),
        ts(rows.iter().map(|e| e.timestamp_us).collect()),
        ts(rows.iter().map(|e| e.created_at_us).collect()),
        text(rows.iter().map(|e| e.properties.as_str())),
    ];
    for i in 0..GROUP_COLUMNS {
        cols.push(text(
            rows.iter()
                .map(|e| e.group_keys.get(i).map_or("", String::as_str)),
        ));
    }
    Ok(RecordBatch::try_new(events_schema(), cols)?)
}

/// What the filters DataFusion pushed into one scan of the events say about the rows it needs:
/// a time range (µs, inclusive) and group keys. Loose by construction: every filter is applied
/// again above the scan, so a bound only skips rows the filters would drop anyway.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanBounds {
    /// No row before this.
    pub since_us: Option<i64>,
    /// No row after this.
    pub until_us: Option<i64>,
    /// `$group_N = key` for the indexes a filter names.
    pub keys: Vec<(usize, String)>,
}

/// A timestamp literal in µs, rounded down (`floor`) or up.
fn literal_us(v: &ScalarValue, floor: bool) -> Option<i64> {
    let div = |n: i64, d: i64| {
        if floor {
            n.div_euclid(d)
        } else {
            n.div_euclid(d) + i64::from(n.rem_euclid(d) != 0)
        }
    };
    match v {
        ScalarValue::TimestampMicrosecond(Some(n), _) => Some(*n),
        ScalarValue::TimestampNanosecond(Some(n), _) => Some(div(*n, 1000)),
        ScalarValue::TimestampMillisecond(Some(n), _) => n.checked_mul(1000),
        ScalarValue::TimestampSecond(Some(n), _) => n.checked_mul(1_000_000),
        _ => None,
    }
}

impl ScanBounds {
    /// The bounds `filters` (a scan's pushed-down conjuncts) imply.
    pub fn of(filters: &[Expr]) -> Self {
        let mut b = ScanBounds::default();
        for f in filters.iter().flat_map(split_conjunction) {
            b.add(f);
        }
        b
    }

    fn add(&mut self, f: &Expr) {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = f else {
            return;
        };
        // Column on the left: `col op lit`; a literal on the left mirrors the operator.
        let (col, op, lit) = match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), Expr::Literal(v, _)) => (c, *op, v),
            (Expr::Literal(v, _), Expr::Column(c)) => match op.swap() {
                Some(op) => (c, op, v),
                None => return,
            },
            _ => return,
        };
        if col.name == "timestamp" {
            match op {
                Operator::GtEq | Operator::Gt => {
                    if let Some(us) = literal_us(lit, true) {
                        self.since_us = Some(self.since_us.map_or(us, |s| s.max(us)));
                    }
                }
                Operator::LtEq | Operator::Lt => {
                    if let Some(us) = literal_us(lit, false) {
                        self.until_us = Some(self.until_us.map_or(us, |u| u.min(us)));
                    }
                }
                Operator::Eq => {
                    if let (Some(lo), Some(hi)) = (literal_us(lit, true), literal_us(lit, false)) {
                        self.since_us = Some(self.since_us.map_or(lo, |s| s.max(lo)));
                        self.until_us = Some(self.until_us.map_or(hi, |u| u.min(hi)));
                    }
                }
                _ => {}
            }
        } else if let (Some(i), Operator::Eq) = (
            (0..GROUP_COLUMNS).find(|&i| col.name == group_column(i)),
            op,
        ) && let ScalarValue::Utf8(Some(k))
        | ScalarValue::LargeUtf8(Some(k))
        | ScalarValue::Utf8View(Some(k)) = lit
        {
            self.keys.push((i, k.clone()));
        }
    }

    /// Whether an event can pass the filters these bounds came from (false: it cannot).
    fn admits(&self, e: &StoredEvent) -> bool {
        self.since_us.is_none_or(|s| e.timestamp_us >= s)
            && self.until_us.is_none_or(|u| e.timestamp_us <= u)
            && self
                .keys
                .iter()
                .all(|(i, k)| e.group_keys.get(*i).map_or("", String::as_str) == k)
    }

    /// Whether a segment can hold a row that passes.
    fn overlaps(&self, s: &SegmentRef) -> bool {
        self.since_us.is_none_or(|lo| s.max_timestamp_us >= lo)
            && self.until_us.is_none_or(|hi| s.min_timestamp_us <= hi)
    }
}

/// The earliest time any scan of the events in `plan` (optimised, so filters sit in the scans)
/// can need: the snapshot need not read events before it. `None` when a scan is unbounded.
pub fn since_of(plan: &LogicalPlan) -> Option<i64> {
    let mut since: Option<Option<i64>> = None;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scan.table_name.table() == EVENTS_SOURCE
        {
            let s = ScanBounds::of(&scan.filters).since_us;
            since = Some(match since {
                None => s,
                Some(prev) => prev.zip(s).map(|(a, b)| a.min(b)),
            });
        }
        Ok(TreeNodeRecursion::Continue)
    });
    since.flatten()
}

/// The table under `events`: a query's snapshot (its segments and its hot tail), taken once the
/// plan is known ([`EventsSource::set`]) so it reads only the time range the query filters on.
/// Each scan keeps the segments whose time range it can need and the hot events its filters
/// can pass, and lets the Parquet reader prune row groups by statistics and bloom filters.
#[derive(Debug)]
pub struct EventsSource {
    snapshot: OnceLock<EventsSnapshot>,
    segments: Option<Arc<dyn ObjectStore>>,
}

/// The source's table name in a query's context.
const EVENTS_SOURCE: &str = "__events_src";

impl EventsSource {
    /// The query's snapshot; set once, before the physical plan is made.
    pub fn set(&self, snap: EventsSnapshot) {
        let _ = self.snapshot.set(snap);
    }
}

#[async_trait]
impl TableProvider for EventsSource {
    fn schema(&self) -> SchemaRef {
        events_scan_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(snap) = self.snapshot.get() else {
            return internal_err!("the events were scanned before their snapshot was taken");
        };
        let bounds = ScanBounds::of(filters);
        let mut parts: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let hot: Vec<&StoredEvent> = snap.hot.iter().filter(|e| bounds.admits(e)).collect();
        if !hot.is_empty() {
            let source = MemorySourceConfig::try_new(
                &[vec![scan_batch(&hot)?]],
                events_scan_schema(),
                projection.cloned(),
            )?
            .with_limit(limit);
            parts.push(DataSourceExec::from_data_source(source));
        }
        let paths = snap
            .segments
            .iter()
            .filter(|s| bounds.overlaps(s))
            .map(|s| ListingTableUrl::parse(format!("{SEGMENTS_URL}{}", s.path)))
            .collect::<Result<Vec<_>>>()?;
        if let (Some(_), false) = (&self.segments, paths.is_empty()) {
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet");
            let config = ListingTableConfig::new_with_multi_paths(paths)
                .with_listing_options(options)
                .with_schema(events_scan_schema());
            // Segment files never change once written (a merge writes new ones), so their
            // statistics are kept across queries in the runtime's cache: computing them again
            // from each file's footer was a tenth of a short query's time.
            let table = ListingTable::try_new(config)?
                .with_cache(state.runtime_env().cache_manager.get_file_statistic_cache());
            parts.push(table.scan(state, projection, filters, limit).await?);
        }
        if parts.is_empty() {
            let source =
                MemorySourceConfig::try_new(&[vec![]], events_scan_schema(), projection.cloned())?;
            return Ok(DataSourceExec::from_data_source(source));
        }
        UnionExec::try_new(parts)
    }
}

/// Registers `events` (a view over [`EventsSource`]); the caller sets its snapshot once the
/// plan is made. `reused` are the indexes whose type was deleted before: only there does the
/// type own just the events received since it was made (as `TypeEpochs` rules for the REST
/// reads); elsewhere the key column is read as stored, so a filter on it reaches the scan.
pub async fn register_events(
    ctx: &SessionContext,
    segments: Option<&Arc<dyn ObjectStore>>,
    types: &[GroupType],
    reused: &[GroupTypeIndex],
) -> Result<Arc<EventsSource>> {
    if let Some(store) = segments {
        let url = url::Url::parse(SEGMENTS_URL)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        ctx.register_object_store(&url, store.clone());
    }
    let source = Arc::new(EventsSource {
        snapshot: OnceLock::new(),
        segments: segments.cloned(),
    });
    ctx.register_table(EVENTS_SOURCE, source.clone())?;
    let mut groups = String::new();
    for i in 0..GROUP_COLUMNS {
        let col = group_column(i);
        match types.iter().find(|t| t.index.0 == i as i64) {
            Some(t) if reused.contains(&t.index) => groups.push_str(&format!(
                ", CASE WHEN CAST(created_at AS BIGINT) >= {} THEN \"{col}\" ELSE '' END AS \"{col}\"",
                t.created_at
            )),
            Some(_) => groups.push_str(&format!(", \"{col}\"")),
            None => groups.push_str(&format!(", '' AS \"{col}\"")),
        }
    }
    let view = ctx
        .sql(&format!(
            "SELECT uuid, event, distinct_id, timestamp, created_at, properties{groups} FROM {EVENTS_SOURCE} AS e"
        ))
        .await?
        .into_view();
    ctx.register_table("events", view)?;
    Ok(source)
}

fn groups_schema() -> SchemaRef {
    let t = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("index", DataType::Int64, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("created_at", t.clone(), false),
        Field::new("updated_at", t, false),
        Field::new("properties", DataType::Utf8, false),
    ]))
}

fn groups_batch(groups: &[&Group]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        groups_schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(
                groups.iter().map(|g| g.index.0),
            )),
            text(groups.iter().map(|g| g.key.as_str())),
            ts(groups.iter().map(|g| g.created_at).collect()),
            ts(groups.iter().map(|g| g.updated_at).collect()),
            text(groups.iter().map(|g| g.properties_json.as_str())),
        ],
    )?)
}

/// Registers `groups` and the `__groups_N` tables the implicit joins read.
pub fn register_groups(ctx: &SessionContext, groups: &[Group], joined: &[i64]) -> Result<()> {
    let all: Vec<&Group> = groups.iter().collect();
    ctx.register_table(
        "groups",
        Arc::new(MemTable::try_new(
            groups_schema(),
            vec![vec![groups_batch(&all)?]],
        )?),
    )?;
    for &i in joined {
        let some: Vec<&Group> = groups.iter().filter(|g| g.index.0 == i).collect();
        ctx.register_table(
            format!("__groups_{i}"),
            Arc::new(MemTable::try_new(
                groups_schema(),
                vec![vec![groups_batch(&some)?]],
            )?),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Array;
    use datafusion::object_store::{ObjectStoreExt, PutPayload, memory::InMemory, path::Path};
    use datafusion::parquet::arrow::ArrowWriter;
    use groupd_core::ProjectId;

    use super::*;

    fn event(i: u128, ts: i64) -> StoredEvent {
        StoredEvent {
            uuid: uuid::Uuid::from_u128(i),
            event: format!("e{i}"),
            distinct_id: "d".into(),
            timestamp_us: ts,
            created_at_us: ts,
            properties: "{}".into(),
            group_keys: vec!["acme".into()],
        }
    }

    #[tokio::test]
    async fn events_are_the_segments_and_the_hot_tail() {
        let compacted = EventsSnapshot {
            segments: vec![],
            hot: vec![event(1, 10), event(2, 20)],
        };
        let mut parquet = vec![];
        let mut w = ArrowWriter::try_new(&mut parquet, events_schema(), None).unwrap();
        let rows: Vec<&StoredEvent> = compacted.hot.iter().collect();
        w.write(&event_batch(&rows).unwrap()).unwrap();
        w.close().unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = "p1/2026-05-01/a.parquet";
        store
            .put(&Path::from(path), PutPayload::from(parquet))
            .await
            .unwrap();
        let snap = EventsSnapshot {
            segments: vec![SegmentRef {
                id: 1,
                project: ProjectId(1),
                path: path.into(),
                rows: 2,
                bytes: 0,
                min_timestamp_us: 10,
                max_timestamp_us: 20,
            }],
            hot: vec![event(3, 30)],
        };
        let ctx = SessionContext::new();
        let source = register_events(&ctx, Some(&store), &[], &[]).await.unwrap();
        source.set(snap);
        let got = ctx
            .sql("SELECT count(*), min(event), max(event), max(\"$group_0\") FROM events")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let row = &got[0];
        let n = row
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>();
        assert_eq!(n.map(|a| a.value(0)), Some(3));
        let text = |c: usize| {
            let a = datafusion::arrow::compute::cast(row.column(c), &DataType::Utf8).unwrap();
            let s = a.as_any().downcast_ref::<StringArray>().unwrap();
            (!s.is_null(0)).then(|| s.value(0).to_owned())
        };
        assert_eq!((text(1), text(2)), (Some("e1".into()), Some("e3".into())));
        // No group type at index 0: the key reads as none.
        assert_eq!(text(3), Some(String::new()));
    }
}
