//! The Arrow schema of the `events` table, shared by the segment writer (Parquet files) and the
//! engine (the hot tail and the table HogQL reads), so the two can never drift apart.
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// How many `$group_N` columns an event carries: PostHog's limit of group types per project.
pub const GROUP_COLUMNS: usize = 5;

/// The column name of group type index `i`: `$group_0` … `$group_4`.
pub fn group_column(i: usize) -> String {
    format!("$group_{i}")
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `uuid`, `event`, `distinct_id`, `timestamp`, `created_at`, `properties` (JSON text),
/// `$group_0…4` (`''` when the event has no group of that index).
pub fn events_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("uuid", DataType::Utf8, false),
        Field::new("event", DataType::Utf8, false),
        Field::new("distinct_id", DataType::Utf8, false),
        Field::new("timestamp", timestamp_type(), false),
        Field::new("created_at", timestamp_type(), false),
        Field::new("properties", DataType::Utf8, false),
    ];
    fields.extend((0..GROUP_COLUMNS).map(|i| Field::new(group_column(i), DataType::Utf8, false)));
    Arc::new(Schema::new(fields))
}

/// The columns a scan reads as string views rather than as offsets into one buffer: the short,
/// repeating ones that queries group and filter by. Read from a dictionary page, a view points
/// into the dictionary instead of copying each value, and a key of up to 12 bytes is compared
/// and hashed inline. `properties` stays `Utf8`: the JSON functions read it as one text.
const VIEW_COLUMNS: [&str; 3] = ["uuid", "event", "distinct_id"];

/// [`events_schema`] as queries read it (the Parquet files keep `Utf8`): the columns of
/// [`VIEW_COLUMNS`] and every `$group_N` as `Utf8View`.
pub fn events_scan_schema() -> SchemaRef {
    static SCHEMA: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields: Vec<Field> = events_schema()
                .fields()
                .iter()
                .map(|f| {
                    if VIEW_COLUMNS.contains(&f.name().as_str()) || f.name().starts_with("$group_")
                    {
                        f.as_ref().clone().with_data_type(DataType::Utf8View)
                    } else {
                        f.as_ref().clone()
                    }
                })
                .collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_columns_follow_the_fixed_fields() {
        let schema = events_schema();
        assert_eq!(schema.fields().len(), 6 + GROUP_COLUMNS);
        assert_eq!(schema.field(6).name(), "$group_0");
        assert_eq!(schema.field(10).name(), "$group_4");
    }
}
