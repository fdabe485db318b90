//! The events behind `groups/related`: the distinct_ids and the group keys seen on a group's (or
//! a distinct_id's) events from some time on. One snapshot, read through the same `events` view
//! HogQL reads, so the segments and the hot tail answer alike, the scans skip segments by time
//! and row groups by the group key's bloom filter, and a reused type index owns only the events
//! received since its type was made (the view's rule, the same as `TypeEpochs`).
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;
use datafusion::functions_aggregate::expr_fn::{max, min};
use datafusion::prelude::{Expr, ident, lit};
use groupd_core::{GroupTypeIndex, ProjectId};
use groupd_store::{EventsOf, Store};

use super::{Engine, EngineError, collect, engine_error, tables, with_deadline};
use crate::schema::{GROUP_COLUMNS, group_column};

/// What `groups/related` asks of the events.
#[derive(Debug, Clone)]
pub struct RelatedRequest {
    pub project: ProjectId,
    /// Events from this time on (UTC µs, inclusive); no upper bound.
    pub since_us: i64,
    /// Whose events.
    pub of: EventsOf,
    pub timeout: Duration,
}

/// A distinct_id seen on the events, with its first and last event among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenPerson {
    pub distinct_id: String,
    pub first_us: i64,
    pub last_us: i64,
}

/// What the events show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelatedEvents {
    /// The distinct_ids, newest first by their first event (then by id); empty when the
    /// request is of a distinct_id.
    pub people: Vec<SeenPerson>,
    /// The groups seen of every type but the asked group's, by index then key (bytewise);
    /// keys as they count today, `''` left out.
    pub groups: Vec<(GroupTypeIndex, String)>,
}

fn utc_us(us: i64) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(us),
        Some("UTC".into()),
    ))
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> DfResult<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        datafusion::error::DataFusionError::Internal(format!("no column {name} in the answer"))
    })
}

fn texts(a: &ArrayRef) -> DfResult<StringArray> {
    let a = cast(a, &DataType::Utf8)?;
    Ok(a.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .unwrap_or_else(|| StringArray::from(Vec::<String>::new())))
}

fn micros(a: &ArrayRef) -> DfResult<Vec<i64>> {
    let a = cast(a, &DataType::Int64)?;
    let a = a
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .cloned()
        .unwrap_or_else(|| datafusion::arrow::array::Int64Array::from(Vec::<i64>::new()));
    Ok(a.values().to_vec())
}

/// Folds the aggregate's rows (one per distinct_id and combination of group keys) into people
/// and groups.
fn fold(batches: &[RecordBatch], asked: Option<usize>) -> DfResult<RelatedEvents> {
    let mut seen: HashMap<String, (i64, i64)> = HashMap::new();
    let mut groups: BTreeSet<(i64, String)> = BTreeSet::new();
    for b in batches {
        let ids = texts(column(b, "distinct_id")?)?;
        let (first, last) = (micros(column(b, "first")?)?, micros(column(b, "last")?)?);
        let keys = (0..GROUP_COLUMNS)
            .map(|i| texts(column(b, &group_column(i))?))
            .collect::<DfResult<Vec<_>>>()?;
        for r in 0..b.num_rows() {
            if asked.is_some() {
                let s = seen
                    .entry(ids.value(r).to_owned())
                    .or_insert((first[r], last[r]));
                s.0 = s.0.min(first[r]);
                s.1 = s.1.max(last[r]);
            }
            for (i, k) in keys.iter().enumerate() {
                if Some(i) != asked && !k.value(r).is_empty() {
                    groups.insert((i as i64, k.value(r).to_owned()));
                }
            }
        }
    }
    let mut people: Vec<SeenPerson> = seen
        .into_iter()
        .map(|(distinct_id, (first_us, last_us))| SeenPerson {
            distinct_id,
            first_us,
            last_us,
        })
        .collect();
    people.sort_by(|a, b| {
        b.first_us
            .cmp(&a.first_us)
            .then_with(|| a.distinct_id.cmp(&b.distinct_id))
    });
    Ok(RelatedEvents {
        people,
        groups: groups
            .into_iter()
            .map(|(i, k)| (GroupTypeIndex(i), k))
            .collect(),
    })
}

impl Engine {
    /// The distinct_ids and groups seen on the events of `req.of` since `req.since_us`: one
    /// aggregate (by distinct_id and group keys) over the snapshot's segments and hot tail.
    pub async fn related(
        &self,
        store: &dyn Store,
        req: &RelatedRequest,
    ) -> Result<RelatedEvents, EngineError> {
        let (filter, asked) = match &req.of {
            EventsOf::DistinctId(d) => (ident("distinct_id").eq(lit(d.as_str())), None),
            EventsOf::Group(i, key) => match usize::try_from(i.0) {
                // Events carry the keys of indexes 0–4 only (PostHog's five types).
                Ok(i) if i < GROUP_COLUMNS => {
                    (ident(group_column(i)).eq(lit(key.as_str())), Some(i))
                }
                _ => return Ok(RelatedEvents::default()),
            },
        };
        let run = async {
            let types = store.list_group_types(req.project).await?;
            let reused = store.reused_type_indexes(req.project).await?;
            let ctx = self.context(0);
            let source = tables::register_events(&ctx, self.segments.as_ref(), &types, &reused)
                .await
                .map_err(engine_error)?;
            source.set(
                store
                    .events_snapshot(req.project, Some(req.since_us))
                    .await?,
            );
            let mut by = vec![ident("distinct_id")];
            by.extend((0..GROUP_COLUMNS).map(|i| ident(group_column(i))));
            let df = ctx
                .table("events")
                .await
                .and_then(|t| t.filter(ident("timestamp").gt_eq(utc_us(req.since_us)).and(filter)))
                .and_then(|t| {
                    t.aggregate(
                        by,
                        vec![
                            min(ident("timestamp")).alias("first"),
                            max(ident("timestamp")).alias("last"),
                        ],
                    )
                })
                .map_err(engine_error)?;
            let plan = df.create_physical_plan().await.map_err(engine_error)?;
            let batches = collect(plan, &ctx).await?;
            fold(&batches, asked).map_err(engine_error)
        };
        with_deadline(req.timeout, run).await
    }
}
