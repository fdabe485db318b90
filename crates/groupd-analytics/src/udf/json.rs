//! JSON reads over the `properties` text: PostHog's property access and ClickHouse's
//! `JSONExtract*` family. One parse per row and call; keys are walked without building a tree.
use serde_json::Value;

/// Walks `keys` (object keys, or 1-based indexes into arrays) from the JSON text `json`.
pub fn walk(json: &str, keys: &[Option<&str>]) -> Option<Value> {
    let mut v: Value = serde_json::from_str(json).ok()?;
    for k in keys {
        let k = (*k)?;
        v = match v {
            Value::Object(mut m) => m.remove(k)?,
            Value::Array(mut a) => {
                let i: i64 = k.parse().ok()?;
                let len = a.len() as i64;
                let idx = if i > 0 {
                    i - 1
                } else if i < 0 {
                    len + i
                } else {
                    return None;
                };
                if idx < 0 || idx >= len {
                    return None;
                }
                a.swap_remove(idx as usize)
            }
            _ => return None,
        };
    }
    Some(v)
}

/// PostHog's string read of a property: strings as they are, other values as their JSON text,
/// a missing key or a JSON null as NULL.
pub fn as_text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// A numeric read: numbers, booleans as 0/1, strings that hold a number.
pub fn as_number(v: Option<Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(b))),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The value's JSON text (a string with its quotes), NULL when missing or null; typed at render.
pub fn as_raw(v: Option<Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The sort key of a raw value: numbers by value; everything else NULL (then sorted as text).
pub fn raw_number(raw: &str) -> Option<f64> {
    match serde_json::from_str::<Value>(raw).ok()? {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// `JSONExtractString`: the string, or `''` when missing or not a string.
pub fn extract_string(v: Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `JSONExtractInt`: integers (floats truncated, numeric strings parsed), else 0.
pub fn extract_int(v: Option<Value>) -> i64 {
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        Some(Value::Bool(b)) => i64::from(b),
        _ => 0,
    }
}

/// `JSONExtractFloat`: numbers, else 0.
pub fn extract_float(v: Option<Value>) -> f64 {
    match v {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::Bool(b)) => f64::from(u8::from(b)),
        _ => 0.0,
    }
}

/// `JSONExtractBool`: true only for `true` or a non-zero number.
pub fn extract_bool(v: Option<Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// `JSONExtractRaw`: the JSON text, `''` when missing.
pub fn extract_raw(v: Option<Value>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `JSONExtractKeys`: an object's keys in order.
pub fn extract_keys(v: Option<Value>) -> Vec<String> {
    match v {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => vec![],
    }
}

/// `JSONExtractArrayRaw`: an array's elements as JSON text.
pub fn extract_array_raw(v: Option<Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(Value::to_string).collect(),
        _ => vec![],
    }
}

/// `JSONLength`: elements of an array or keys of an object.
pub fn length(v: Option<Value>) -> i64 {
    match v {
        Some(Value::Array(a)) => a.len() as i64,
        Some(Value::Object(m)) => m.len() as i64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_follow_posthog() {
        let j = r#"{"a": {"b": 12}, "s": "x", "n": null, "f": true, "arr": [1, 2, 3]}"#;
        assert_eq!(as_text(walk(j, &[Some("a"), Some("b")])), Some("12".into()));
        assert_eq!(as_number(walk(j, &[Some("a"), Some("b")])), Some(12.0));
        assert_eq!(as_text(walk(j, &[Some("n")])), None);
        assert_eq!(as_raw(walk(j, &[Some("s")])), Some("\"x\"".into()));
        assert_eq!(as_number(walk(j, &[Some("f")])), Some(1.0));
        assert_eq!(extract_int(walk(j, &[Some("arr"), Some("-1")])), 3);
        assert_eq!(extract_string(walk(j, &[Some("missing")])), "");
        assert_eq!(walk("not json", &[Some("a")]), None);
    }
}
