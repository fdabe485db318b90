//! Arrow results → the response's `results` and ClickHouse `types`.
use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use serde_json::Value;

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn date_text(days: i32) -> Value {
    let us = crate::udf::time::days_to_us(days);
    Value::String(crate::udf::time::format(us, "%F").unwrap_or_default())
}

/// One cell as JSON.
pub fn cell(a: &ArrayRef, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    let Ok(s) = ScalarValue::try_from_array(a, i) else {
        return Value::Null;
    };
    scalar(&s)
}

fn scalar(s: &ScalarValue) -> Value {
    use ScalarValue as S;
    match s {
        S::Null => Value::Null,
        S::Boolean(Some(b)) => Value::from(u8::from(*b)),
        S::Int8(Some(v)) => Value::from(*v),
        S::Int16(Some(v)) => Value::from(*v),
        S::Int32(Some(v)) => Value::from(*v),
        S::Int64(Some(v)) => Value::from(*v),
        S::UInt8(Some(v)) => Value::from(*v),
        S::UInt16(Some(v)) => Value::from(*v),
        S::UInt32(Some(v)) => Value::from(*v),
        S::UInt64(Some(v)) => Value::from(*v),
        S::Float32(Some(v)) => float(f64::from(*v)),
        S::Float64(Some(v)) => float(*v),
        S::Decimal128(Some(v), _, scale) => float(*v as f64 / 10f64.powi(i32::from(*scale))),
        S::Utf8(Some(v)) | S::LargeUtf8(Some(v)) | S::Utf8View(Some(v)) => Value::String(v.clone()),
        S::TimestampMicrosecond(Some(v), _) => Value::String(groupd_core::time_fmt::format_us(*v)),
        S::TimestampNanosecond(Some(v), _) => {
            Value::String(groupd_core::time_fmt::format_us(v.div_euclid(1000)))
        }
        S::TimestampMillisecond(Some(v), _) => {
            Value::String(groupd_core::time_fmt::format_us(v.saturating_mul(1000)))
        }
        S::TimestampSecond(Some(v), _) => Value::String(groupd_core::time_fmt::format_us(
            v.saturating_mul(1_000_000),
        )),
        S::Date32(Some(d)) => date_text(*d),
        S::List(l) => list(l.values()),
        S::LargeList(l) => list(l.values()),
        S::FixedSizeList(l) => list(l.values()),
        S::Struct(st) => Value::Array(st.columns().iter().map(|c| cell(c, 0)).collect()),
        other if other.is_null() => Value::Null,
        other => Value::String(other.to_string()),
    }
}

fn list(values: &ArrayRef) -> Value {
    Value::Array((0..values.len()).map(|i| cell(values, i)).collect())
}

/// The ClickHouse name of an Arrow type.
pub fn type_name(t: &DataType, unsigned: bool) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "String".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 if unsigned => {
            "UInt64".into()
        }
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "Int64".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "UInt64".into(),
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => {
            "Float64".into()
        }
        DataType::Boolean => "UInt8".into(),
        DataType::Timestamp(..) => "DateTime64(6, 'UTC')".into(),
        DataType::Date32 | DataType::Date64 => "Date".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            format!("Array({})", type_name(f.data_type(), false))
        }
        DataType::Null => "Nothing".into(),
        DataType::Struct(fs) => format!(
            "Tuple({})",
            fs.iter()
                .map(|f| type_name(f.data_type(), false))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "String".into(),
    }
}

/// A raw property value (its JSON text) as the spec renders it, and its type's name.
fn raw_value(text: &str) -> (Value, &'static str) {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) => (Value::String(s), "String"),
        Ok(Value::Bool(b)) => (Value::from(u8::from(b)), "UInt8"),
        Ok(Value::Number(n)) if n.is_i64() || n.is_u64() => (Value::Number(n), "Int64"),
        Ok(Value::Number(n)) => (Value::Number(n), "Float64"),
        Ok(Value::Null) => (Value::Null, "Nothing"),
        Ok(other) => (Value::String(other.to_string()), "String"),
        Err(_) => (Value::String(text.to_owned()), "String"),
    }
}

/// Rows and types of the result batches. `raw[i]` marks raw property columns.
pub fn render(
    batches: &[RecordBatch],
    raw: &[bool],
    unsigned: &[bool],
    max_rows: usize,
) -> (Vec<Vec<Value>>, Vec<String>, Vec<String>) {
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return (vec![], vec![], vec![]);
    };
    let ncols = schema.fields().len();
    let mut rows: Vec<Vec<Value>> = vec![];
    let mut nulls = vec![false; ncols];
    let mut raw_kinds: Vec<Option<&'static str>> = vec![None; ncols];
    let mut raw_mixed = vec![false; ncols];
    'outer: for b in batches {
        for r in 0..b.num_rows() {
            if rows.len() >= max_rows {
                break 'outer;
            }
            let mut row = Vec::with_capacity(ncols);
            for (c, col) in b.columns().iter().enumerate() {
                let v = if raw.get(c).copied().unwrap_or(false) && !col.is_null(r) {
                    match cell(col, r) {
                        Value::String(t) => {
                            let (v, k) = raw_value(&t);
                            match raw_kinds[c] {
                                None => raw_kinds[c] = Some(k),
                                Some(prev) if prev == k => {}
                                Some("Int64") if k == "Float64" => raw_kinds[c] = Some("Float64"),
                                Some("Float64") if k == "Int64" => {}
                                Some(_) => raw_mixed[c] = true,
                            }
                            v
                        }
                        other => other,
                    }
                } else {
                    cell(col, r)
                };
                if v.is_null() {
                    nulls[c] = true;
                }
                row.push(v);
            }
            rows.push(row);
        }
    }
    // A raw column of mixed kinds is text throughout.
    for (c, mixed) in raw_mixed.iter().enumerate() {
        if *mixed {
            for row in &mut rows {
                if let Some(v) = row.get_mut(c)
                    && !v.is_null()
                    && !v.is_string()
                {
                    *v = Value::String(v.to_string());
                }
            }
        }
    }
    let names = schema.fields().iter().map(|f| f.name().clone()).collect();
    let types = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| {
            let base = if raw.get(c).copied().unwrap_or(false) {
                if raw_mixed[c] {
                    "String".to_owned()
                } else {
                    raw_kinds[c].unwrap_or("String").to_owned()
                }
            } else {
                type_name(f.data_type(), unsigned.get(c).copied().unwrap_or(false))
            };
            if nulls[c] && base != "Nothing" {
                format!("Nullable({base})")
            } else {
                base
            }
        })
        .collect();
    (rows, types, names)
}
