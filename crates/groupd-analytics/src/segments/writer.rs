//! Events to Parquet and back: one segment is one project's events of one UTC day, sorted by
//! timestamp, in the [`events_schema`] columns. Written with zstd, dictionaries for the columns
//! that repeat (event names, distinct ids, group keys) and not for those that do not (uuids,
//! properties), row groups large enough for scans, statistics (min/max per page) so the
//! engine can skip by time, and bloom filters on the group key columns so it can skip by group.
use std::sync::Arc;

use bytes::Bytes;
use datafusion::object_store::{ObjectStore, ObjectStoreExt, PutPayload, path::Path};
use datafusion::{
    arrow::{
        array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray},
        compute::{
            SortColumn, concat_batches, lexsort_to_indices, max as arrow_max, min as arrow_min,
            take_record_batch,
        },
    },
    parquet::{
        arrow::{ArrowWriter, arrow_reader::ParquetRecordBatchReaderBuilder},
        basic::{Compression, Encoding, ZstdLevel},
        file::{
            metadata::SortingColumn,
            properties::{EnabledStatistics, WriterProperties},
        },
        schema::types::ColumnPath,
    },
};
use groupd_store::{NewSegment, Partition, StoredEvent};

use crate::schema::{GROUP_COLUMNS, events_schema, group_column};

/// Rows per row group: big enough that a scan reads few, small enough that a time filter skips
/// most of a day.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// The column index of `timestamp` in [`events_schema`].
const TIMESTAMP: usize = 3;

/// How hard a segment's writer compresses its zstd columns (`properties`, `uuid`, `created_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// zstd 1, for a segment a later merge rewrites: a move step's, an early tier's. Compaction
    /// writes each event about five times while its day fills, and at zstd 9 every write cost
    /// about as much CPU as capturing the event did.
    Quick,
    /// zstd 9, for a segment that stays: 63 instead of 67 MB per million SDK-shaped events
    /// (against zstd 3), for CPU spent once.
    Thorough,
}

/// How segments are written.
fn writer_properties(effort: Effort) -> WriterProperties {
    let plain = ["uuid", "properties", "timestamp", "created_at"];
    let level = match effort {
        Effort::Quick => 1,
        Effort::Thorough => 9,
    };
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(level).expect("a valid zstd level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: TIMESTAMP as i32,
            descending: false,
            nulls_first: false,
        }]));
    for col in plain {
        b = b.set_column_dictionary_enabled(ColumnPath::from(col), false);
    }
    // The columns every query reads are cheap to decode: sorted timestamps as deltas, not
    // compressed further (zstd saved little on them and its per-column-chunk contexts were a
    // visible share of a short query), and the dictionary-encoded columns with LZ4, whose
    // decompression is several times faster than zstd's for a few percent of size.
    b = b
        .set_column_encoding(ColumnPath::from("timestamp"), Encoding::DELTA_BINARY_PACKED)
        .set_column_compression(ColumnPath::from("timestamp"), Compression::UNCOMPRESSED);
    let repeating = ["event", "distinct_id"]
        .into_iter()
        .map(String::from)
        .chain((0..GROUP_COLUMNS).map(group_column));
    for col in repeating {
        b = b.set_column_compression(ColumnPath::from(col), Compression::LZ4_RAW);
    }
    // Properties are read whole or not at all: min/max of JSON text skips nothing.
    b = b.set_column_statistics_enabled(ColumnPath::from("properties"), EnabledStatistics::None);
    // Rows are in time order, so min/max of a group key spans nearly every key and skips
    // nothing; a bloom filter per row group lets `$group_N = key` (a group's Events tab) skip
    // the row groups without that key. Sized for a row group of distinct keys, then folded down
    // to what the written keys need (a column of `''` alone costs a few bytes).
    for i in 0..GROUP_COLUMNS {
        let col = ColumnPath::from(group_column(i));
        b = b
            .set_column_bloom_filter_enabled(col.clone(), true)
            .set_column_bloom_filter_fpp(col.clone(), 0.01)
            .set_column_bloom_filter_max_ndv(col, ROW_GROUP_ROWS as u64);
    }
    b.build()
}

/// The events as one Arrow batch of [`events_schema`], in the order given.
pub fn to_batch(events: &[StoredEvent]) -> anyhow::Result<RecordBatch> {
    let strings = |f: &dyn Fn(&StoredEvent) -> &str| -> ArrayRef {
        Arc::new(events.iter().map(|e| Some(f(e))).collect::<StringArray>())
    };
    let times = |f: &dyn Fn(&StoredEvent) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(events.iter().map(f)).with_timezone("UTC"),
        )
    };
    let mut uuid_buf = uuid::Uuid::encode_buffer();
    let uuids: StringArray = events
        .iter()
        .map(|e| Some(e.uuid.hyphenated().encode_lower(&mut uuid_buf).to_owned()))
        .collect();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(uuids),
        strings(&|e| &e.event),
        strings(&|e| &e.distinct_id),
        times(&|e| e.timestamp_us),
        times(&|e| e.created_at_us),
        strings(&|e| &e.properties),
    ];
    for i in 0..GROUP_COLUMNS {
        columns.push(strings(&|e| e.group_keys.get(i).map_or("", String::as_str)));
    }
    Ok(RecordBatch::try_new(events_schema(), columns)?)
}

/// The events of a batch of [`events_schema`] (every `$group_N` column, `""` for none).
pub fn from_batch(batch: &RecordBatch) -> anyhow::Result<Vec<StoredEvent>> {
    let text = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| anyhow::anyhow!("column {i} is not text"))
    };
    let time = |i: usize| {
        batch
            .column(i)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .ok_or_else(|| anyhow::anyhow!("column {i} is not a timestamp"))
    };
    let (uuid, event, distinct_id) = (text(0)?, text(1)?, text(2)?);
    let (timestamp, created_at, properties) = (time(TIMESTAMP)?, time(4)?, text(5)?);
    let groups = (0..GROUP_COLUMNS)
        .map(|i| text(6 + i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    (0..batch.num_rows())
        .map(|r| {
            Ok(StoredEvent {
                uuid: uuid.value(r).parse()?,
                event: event.value(r).to_owned(),
                distinct_id: distinct_id.value(r).to_owned(),
                timestamp_us: timestamp.value(r),
                created_at_us: created_at.value(r),
                properties: properties.value(r).to_owned(),
                group_keys: groups.iter().map(|g| g.value(r).to_owned()).collect(),
            })
        })
        .collect()
}

/// `batch` as a Parquet file.
pub fn encode(batch: &RecordBatch, effort: Effort) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(batch.get_array_memory_size() / 4);
    let mut w = ArrowWriter::try_new(&mut out, events_schema(), Some(writer_properties(effort)))?;
    w.write(batch)?;
    w.close()?;
    Ok(out)
}

/// `batch`'s rows ordered by timestamp, then uuid (a total order, so a merge is deterministic).
pub fn sort_by_time(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    let keys = [
        SortColumn {
            values: Arc::clone(batch.column(TIMESTAMP)),
            options: None,
        },
        SortColumn {
            values: Arc::clone(batch.column(0)),
            options: None,
        },
    ];
    let order = lexsort_to_indices(&keys, None)?;
    Ok(take_record_batch(batch, &order)?)
}

/// Where a new segment of `partition` goes: `p<project>/<YYYY-MM-DD>/<uuid v7>.parquet`.
pub fn segment_path(partition: Partition) -> String {
    let date =
        time::Date::from_julian_day(UNIX_EPOCH_JULIAN_DAY.saturating_add(partition.day as i32))
            .map_or_else(|_| format!("day{}", partition.day), |d| d.to_string());
    format!(
        "p{}/{date}/{}.parquet",
        partition.project.0,
        uuid::Uuid::now_v7()
    )
}

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Writes `batch` (one partition's rows, sorted) as a new segment file; returns what the catalog
/// must list. The file is complete before this returns (a put is atomic on every object store),
/// and is an orphan until the catalog lists it. The encoding runs on a blocking thread, off the
/// runtime's workers that answer requests.
pub async fn put_segment(
    store: &dyn ObjectStore,
    partition: Partition,
    batch: &RecordBatch,
    effort: Effort,
) -> anyhow::Result<NewSegment> {
    let ts = batch
        .column(TIMESTAMP)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or_else(|| anyhow::anyhow!("timestamp column of another type"))?;
    let (Some(min), Some(max)) = (arrow_min(ts), arrow_max(ts)) else {
        anyhow::bail!("an empty segment");
    };
    let owned = batch.clone();
    let bytes = Bytes::from(tokio::task::spawn_blocking(move || encode(&owned, effort)).await??);
    let path = segment_path(partition);
    let size = bytes.len() as u64;
    store
        .put(&Path::from(path.as_str()), PutPayload::from_bytes(bytes))
        .await?;
    Ok(NewSegment {
        partition,
        path,
        rows: batch.num_rows() as u64,
        bytes: size,
        min_timestamp_us: min,
        max_timestamp_us: max,
    })
}

/// Reads segment files whole, as one batch (for merging them: small files by construction).
pub async fn read_segments(
    store: &Arc<dyn ObjectStore>,
    paths: &[String],
) -> anyhow::Result<RecordBatch> {
    let mut batches = Vec::new();
    for p in paths {
        let bytes = store.get(&Path::from(p.as_str())).await?.bytes().await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
        for batch in reader {
            batches.push(batch?);
        }
    }
    Ok(concat_batches(&events_schema(), &batches)?)
}
