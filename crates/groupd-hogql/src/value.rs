//! Decoding result cells into JSON, and the date/time text formats the query language accepts.

use serde_json::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::types::ColumnType;

/// One raw database cell, independent of the backend that produced it.
///
/// The emitted SQL only ever projects integers, floats, text or NULL (SQLite may hand back a
/// BLOB for a raw uuid), so this is all a caller needs to convert.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// NULL.
    Null,
    /// INTEGER / int8.
    Int(i64),
    /// REAL / float8.
    Float(f64),
    /// TEXT.
    Text(String),
    /// BLOB (SQLite only).
    Blob(Vec<u8>),
}

const US_PER_SEC: i64 = 1_000_000;
pub(crate) const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

/// Decode one result cell of a column of type `ty` into the JSON the API returns.
pub fn to_json(ty: &ColumnType, v: SqlValue) -> Value {
    if matches!(v, SqlValue::Null) {
        return Value::Null;
    }
    match ty {
        ColumnType::Nullable(inner) => to_json(inner, v),
        ColumnType::Nothing => Value::Null,
        // Minify so both backends render objects alike (PostgreSQL's jsonb text has spaces).
        ColumnType::Json => match v {
            SqlValue::Text(s) => match serde_json::from_str::<Value>(&s) {
                Ok(j) => Value::String(j.to_string()),
                Err(_) => Value::String(s),
            },
            other => to_json(&ColumnType::String, other),
        },
        ColumnType::String => match v {
            SqlValue::Text(s) => Value::String(s),
            SqlValue::Int(i) => Value::String(i.to_string()),
            SqlValue::Float(f) => Value::String(f.to_string()),
            SqlValue::Blob(b) => Value::String(blob_text(&b)),
            SqlValue::Null => Value::Null,
        },
        ColumnType::Int64 | ColumnType::UInt64 | ColumnType::UInt8 => match v {
            SqlValue::Int(i) => Value::from(i),
            SqlValue::Float(f) => float_json(f),
            SqlValue::Text(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(s)),
            SqlValue::Blob(b) => Value::String(blob_text(&b)),
            SqlValue::Null => Value::Null,
        },
        ColumnType::Float64 => match v {
            SqlValue::Int(i) => Value::from(i),
            SqlValue::Float(f) => float_json(f),
            SqlValue::Text(s) => s
                .trim()
                .parse::<f64>()
                .map(float_json)
                .unwrap_or(Value::String(s)),
            SqlValue::Blob(b) => Value::String(blob_text(&b)),
            SqlValue::Null => Value::Null,
        },
        ColumnType::DateTime | ColumnType::Date => {
            let us = match v {
                SqlValue::Int(i) => i,
                SqlValue::Float(f) if f.is_finite() => f as i64,
                SqlValue::Text(s) => return Value::String(s),
                _ => return Value::Null,
            };
            let text = if *ty == ColumnType::Date {
                format_date(us)
            } else {
                format_datetime(us)
            };
            text.map(Value::String).unwrap_or(Value::Null)
        }
        ColumnType::Dynamic => match v {
            // The cell is the JSON text of the property value.
            SqlValue::Text(s) => match serde_json::from_str::<Value>(&s) {
                Ok(j @ (Value::Object(_) | Value::Array(_))) => Value::String(j.to_string()),
                Ok(Value::Number(n)) => number_json(n),
                // The spec reads a boolean property as UInt8, which ClickHouse prints as 0/1.
                Ok(Value::Bool(b)) => Value::from(u8::from(b)),
                Ok(other) => other,
                Err(_) => Value::String(s),
            },
            SqlValue::Int(i) => Value::from(i),
            SqlValue::Float(f) => float_json(f),
            SqlValue::Blob(b) => Value::String(blob_text(&b)),
            SqlValue::Null => Value::Null,
        },
    }
}

/// Integral floats become JSON integers (`2.0` → `2`), as ClickHouse prints them.
fn float_json(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

fn number_json(n: serde_json::Number) -> Value {
    if n.is_i64() || n.is_u64() {
        Value::Number(n)
    } else {
        n.as_f64().map(float_json).unwrap_or(Value::Null)
    }
}

/// A 16-byte blob is a uuid; anything else is shown as lowercase hex.
fn blob_text(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    if b.len() == 16 {
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    } else {
        hex
    }
}

fn to_odt(us: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).ok()
}

/// RFC 3339 with `Z`, fraction only when non-zero (microseconds).
pub(crate) fn format_datetime(us: i64) -> Option<String> {
    let t = to_odt(us)?;
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let micro = t.microsecond();
    if micro != 0 {
        s.push_str(&format!(".{micro:06}"));
    }
    s.push('Z');
    Some(s)
}

pub(crate) fn format_date(us: i64) -> Option<String> {
    let t = to_odt(us)?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        t.year(),
        u8::from(t.month()),
        t.day()
    ))
}

/// Parse `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]` or RFC 3339 into microseconds since the
/// epoch; without an offset the text is UTC.
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    // Every accepted shape is ASCII; checking first keeps the byte slicing below safe.
    if !s.is_ascii() {
        return None;
    }
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = digits(&s[0..4])?.try_into().ok()?;
    let month = Month::try_from(u8::try_from(digits(&s[5..7])?).ok()?).ok()?;
    let day = u8::try_from(digits(&s[8..10])?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(date.midnight().assume_utc().unix_timestamp() * US_PER_SEC);
    }
    let rb = rest.as_bytes();
    if !(rb[0] == b' ' || rb[0] == b'T' || rb[0] == b't') || rest.len() < 9 {
        return None;
    }
    let hms = &rest[1..9];
    let hb = hms.as_bytes();
    if hb[2] != b':' || hb[5] != b':' {
        return None;
    }
    let time = Time::from_hms(
        u8::try_from(digits(&hms[0..2])?).ok()?,
        u8::try_from(digits(&hms[3..5])?).ok()?,
        u8::try_from(digits(&hms[6..8])?).ok()?,
    )
    .ok()?;
    let mut tail = &rest[9..];
    let mut micros: i64 = 0;
    if let Some(frac) = tail.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        let mut padded = frac[..n].to_string();
        padded.truncate(6);
        while padded.len() < 6 {
            padded.push('0');
        }
        micros = i64::from(digits(&padded)?);
        tail = &frac[n..];
    }
    let offset = match tail {
        "" | "Z" | "z" => UtcOffset::UTC,
        _ => {
            let tb = tail.as_bytes();
            if tail.len() != 6 || !(tb[0] == b'+' || tb[0] == b'-') || tb[3] != b':' {
                return None;
            }
            let h = i8::try_from(digits(&tail[1..3])?).ok()?;
            let m = i8::try_from(digits(&tail[4..6])?).ok()?;
            let sign = if tb[0] == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(sign * h, sign * m, 0).ok()?
        }
    };
    let odt = PrimitiveDateTime::new(date, time).assume_offset(offset);
    Some(odt.unix_timestamp() * US_PER_SEC + micros)
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Floor of `us` to the start of its UTC day.
pub(crate) fn floor_day(us: i64) -> i64 {
    us.div_euclid(US_PER_DAY) * US_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn datetimes_parse_in_every_accepted_shape() {
        let base = 1_777_716_062 * US_PER_SEC; // 2026-05-02T10:01:02Z
        assert_eq!(parse_datetime("2026-05-02 10:01:02"), Some(base));
        assert_eq!(parse_datetime("2026-05-02T10:01:02Z"), Some(base));
        assert_eq!(
            parse_datetime("2026-05-02T12:01:02.5+02:00"),
            Some(base + 500_000)
        );
        assert_eq!(
            parse_datetime("2026-05-02 10:01:02.123456"),
            Some(base + 123_456)
        );
        assert_eq!(parse_datetime("2026-05-02"), Some(floor_day(base)));
        assert_eq!(parse_datetime("2026-13-02"), None);
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime("2026-05-02 10:01"), None);
        assert_eq!(parse_datetime("é026-05-02 10:01:02"), None);
        assert_eq!(parse_datetime("2026-05-02 10:01:02.1234567890"), None);
        assert_eq!(parse_datetime("2026-05-02T10:01:02+2:00"), None);
    }

    #[test]
    fn cells_decode_like_clickhouse_json() {
        let us = 1_777_716_062 * US_PER_SEC;
        assert_eq!(
            to_json(&ColumnType::DateTime, SqlValue::Int(us)),
            json!("2026-05-02T10:01:02Z")
        );
        assert_eq!(
            to_json(&ColumnType::DateTime, SqlValue::Int(us + 123_456)),
            json!("2026-05-02T10:01:02.123456Z")
        );
        assert_eq!(
            to_json(&ColumnType::Date, SqlValue::Int(us)),
            json!("2026-05-02")
        );
        assert_eq!(
            to_json(&ColumnType::Float64, SqlValue::Float(2.0)),
            json!(2)
        );
        assert_eq!(
            to_json(&ColumnType::Float64, SqlValue::Float(2.5)),
            json!(2.5)
        );
        assert_eq!(to_json(&ColumnType::UInt8, SqlValue::Int(1)), json!(1));
        assert_eq!(
            to_json(&ColumnType::Dynamic, SqlValue::Text("\"x\"".into())),
            json!("x")
        );
        assert_eq!(
            to_json(&ColumnType::Dynamic, SqlValue::Text("12".into())),
            json!(12)
        );
        assert_eq!(
            to_json(&ColumnType::Dynamic, SqlValue::Text("true".into())),
            json!(1)
        );
        assert_eq!(
            to_json(&ColumnType::Dynamic, SqlValue::Text("{\"a\":1}".into())),
            json!("{\"a\":1}")
        );
        assert_eq!(
            to_json(&ColumnType::String, SqlValue::Blob(vec![0xab; 16])),
            json!("abababab-abab-abab-abab-abababababab")
        );
        assert_eq!(
            to_json(
                &ColumnType::Nullable(Box::new(ColumnType::String)),
                SqlValue::Null
            ),
            Value::Null
        );
    }
}
