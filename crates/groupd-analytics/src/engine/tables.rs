//! The tables one query reads, all of them already limited to its project: `events` (the
//! snapshot's segments plus its hot tail, group keys cleared where the type is newer than the
//! event), `groups`, and `__groups_N` for the implicit joins.
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::Result;
use datafusion::object_store::ObjectStore;
use datafusion::prelude::SessionContext;
use groupd_store::{EventsSnapshot, Group, GroupType};

use crate::schema::{GROUP_COLUMNS, events_schema, group_column};

/// The URL the segment store is registered under in each query's context.
const SEGMENTS_URL: &str = "groupd-segments://segments/";

fn ts(v: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
}

fn text<'a>(v: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

/// The hot tail as one Arrow batch of the events schema.
fn hot_batch(snap: &EventsSnapshot) -> Result<RecordBatch> {
    let h = &snap.hot;
    let uuids: Vec<String> = h.iter().map(|e| e.uuid.hyphenated().to_string()).collect();
    let mut cols: Vec<ArrayRef> = vec![
        text(uuids.iter().map(String::as_str)),
        text(h.iter().map(|e| e.event.as_str())),
        text(h.iter().map(|e| e.distinct_id.as_str())),
        ts(h.iter().map(|e| e.timestamp_us).collect()),
        ts(h.iter().map(|e| e.created_at_us).collect()),
        text(h.iter().map(|e| e.properties.as_str())),
    ];
    for i in 0..GROUP_COLUMNS {
        cols.push(text(
            h.iter()
                .map(|e| e.group_keys.get(i).map_or("", String::as_str)),
        ));
    }
    Ok(RecordBatch::try_new(events_schema(), cols)?)
}

/// Registers `events` for the snapshot.
pub async fn register_events(
    ctx: &SessionContext,
    snap: &EventsSnapshot,
    segments: Option<&Arc<dyn ObjectStore>>,
    types: &[GroupType],
) -> Result<()> {
    let hot = MemTable::try_new(events_schema(), vec![vec![hot_batch(snap)?]])?;
    ctx.register_table("__events_hot", Arc::new(hot))?;
    let mut source = "__events_hot".to_owned();
    if let (Some(store), false) = (segments, snap.segments.is_empty()) {
        let url = url::Url::parse(SEGMENTS_URL)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        ctx.register_object_store(&url, store.clone());
        let paths = snap
            .segments
            .iter()
            .map(|s| ListingTableUrl::parse(format!("{SEGMENTS_URL}{}", s.path)))
            .collect::<Result<Vec<_>>>()?;
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(paths)
            .with_listing_options(options)
            .with_schema(events_schema());
        ctx.register_table(
            "__events_segments",
            Arc::new(ListingTable::try_new(config)?),
        )?;
        source = "(SELECT * FROM __events_hot UNION ALL SELECT * FROM __events_segments)".into();
    }
    // An event ingested before its group type (re)appeared belongs to the type deleted then.
    let mut groups = String::new();
    for i in 0..GROUP_COLUMNS {
        let col = group_column(i);
        match types.iter().find(|t| t.index.0 == i as i64) {
            Some(t) => groups.push_str(&format!(
                ", CASE WHEN CAST(created_at AS BIGINT) >= {} THEN \"{col}\" ELSE '' END AS \"{col}\"",
                t.created_at
            )),
            None => groups.push_str(&format!(", '' AS \"{col}\"")),
        }
    }
    let view = ctx
        .sql(&format!(
            "SELECT uuid, event, distinct_id, timestamp, created_at, properties{groups} FROM {source} AS e"
        ))
        .await?
        .into_view();
    ctx.register_table("events", view)?;
    Ok(())
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
    use groupd_store::{SegmentRef, StoredEvent};

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
        w.write(&hot_batch(&compacted).unwrap()).unwrap();
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
        register_events(&ctx, &snap, Some(&store), &[])
            .await
            .unwrap();
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
