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
