//! JSON reads over the `properties` text: PostHog's property access and ClickHouse's
//! `JSONExtract*` family. One parse per row and call; keys are walked without building a tree.
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// Walks `keys` (object keys, or 1-based indexes into arrays) from the JSON text `json`.
///
/// Each step finds the member's text by skipping its siblings, without building them, and only the
/// value at the end of the path becomes a `Value`: reading one key of a large object costs a scan,
/// not a tree of maps and strings (which was most of the time of a property read).
pub fn walk(json: &str, keys: &[Option<&str>]) -> Option<Value> {
    let mut raw = json;
    for k in keys {
        raw = member(raw, (*k)?)?;
    }
    serde_json::from_str(raw).ok()
}

/// The JSON text of member `key` of the object or array `json`; `None` when it is missing, when
/// `json` is neither, or when it is not valid JSON. A key given twice reads the last (as a map
/// would).
fn member<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let mut de = serde_json::Deserializer::from_str(json);
    let found = match json.trim_start().as_bytes().first()? {
        b'{' => de.deserialize_map(Member::Key(key)),
        b'[' => {
            let i: i64 = key.parse().ok()?;
            if i == 0 {
                return None;
            }
            de.deserialize_seq(Member::Index(i))
        }
        _ => return None,
    };
    de.end().ok()?;
    found.ok().flatten().map(RawValue::get)
}

enum Member<'k> {
    Key(&'k str),
    /// 1-based from the start, or negative from the end.
    Index(i64),
}

impl<'de> Visitor<'de> for Member<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Member::Key(key) = self else {
            return Err(de::Error::custom("not an array"));
        };
        let mut found = None;
        while let Some(is_key) = map.next_key_seed(KeyIs(key))? {
            if is_key {
                found = Some(map.next_value::<&RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Member::Index(i) = self else {
            return Err(de::Error::custom("not an object"));
        };
        if i > 0 {
            let mut n = 1;
            let mut found = None;
            while n < i && seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            if n == i {
                found = seq.next_element::<&RawValue>()?;
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(found)
        } else {
            let mut all = vec![];
            while let Some(v) = seq.next_element::<&RawValue>()? {
                all.push(v);
            }
            let idx = all.len() as i64 + i;
            Ok((idx >= 0).then(|| all[idx as usize]))
        }
    }
}

/// Deserialises an object key into whether it equals the wanted one, without allocating.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
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

    /// The scanning walk answers exactly what parsing the whole tree and indexing it answers.
    fn tree_walk(json: &str, keys: &[Option<&str>]) -> Option<Value> {
        let mut v: Value = serde_json::from_str(json).ok()?;
        for k in keys {
            let k = (*k)?;
            v = match v {
                Value::Object(mut m) => m.remove(k)?,
                Value::Array(a) => {
                    let i: i64 = k.parse().ok()?;
                    let len = a.len() as i64;
                    let idx = if i > 0 {
                        i - 1
                    } else if i < 0 {
                        len + i
                    } else {
                        return None;
                    };
                    a.into_iter().nth(usize::try_from(idx).ok()?)?
                }
                _ => return None,
            };
        }
        Some(v)
    }

    #[test]
    fn walk_matches_the_tree() {
        let docs = [
            r#"{"a": {"b": [10, {"c": "x\"y"}, null]}, "k\u00e9": 1, "d": 2, "d": 3}"#,
            r#"[1, [2, 3], {"a": -1.5e3}]"#,
            r#"{"a": 1,}"#,
            r#"{"a": 1} trailing"#,
            r#"  {"a" : "\ud83d\ude00"}  "#,
            "\"plain\"",
            "{}",
            "[]",
        ];
        let paths: &[&[Option<&str>]] = &[
            &[Some("a")],
            &[Some("a"), Some("b")],
            &[Some("a"), Some("b"), Some("1")],
            &[Some("a"), Some("b"), Some("2"), Some("c")],
            &[Some("a"), Some("b"), Some("-1")],
            &[Some("a"), Some("b"), Some("-4")],
            &[Some("a"), Some("b"), Some("0")],
            &[Some("a"), Some("b"), Some("x")],
            &[Some("ké")],
            &[Some("d")],
            &[Some("1")],
            &[Some("2"), Some("-2")],
            &[Some("3"), Some("a")],
            &[None],
            &[],
        ];
        for d in docs {
            for p in paths {
                assert_eq!(walk(d, p), tree_walk(d, p), "{d} {p:?}");
            }
        }
    }
}
