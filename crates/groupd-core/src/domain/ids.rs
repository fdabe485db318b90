use std::fmt;

use serde::Serialize;

/// The largest `max_group_types` an instance may be configured with.
pub const MAX_GROUP_TYPES_LIMIT: u32 = 64;

/// A project's (PostHog: team's) id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ProjectId(pub i64);

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An integer from text as DRF's IntegerField reads it: optional sign, ASCII digits, surrounding
/// whitespace allowed. Floats, exponents and values beyond `i64` are `None`.
pub fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// A group type's index inside a project. Any integer parses (an index with no type is a lookup
/// miss, not a syntax error); only `0..max_group_types` can ever hold a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct GroupTypeIndex(pub i64);

impl GroupTypeIndex {
    /// Parses a query-string or path value the way DRF's IntegerField does: optional sign, ASCII
    /// digits, surrounding whitespace allowed. Anything else (floats, huge numbers) is `None`.
    pub fn parse_str(s: &str) -> Option<Self> {
        parse_int(s).map(Self)
    }

    /// Parses a JSON value: an integer, an integral float, or a string holding an integer.
    pub fn parse_json(v: &serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::Number(n) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })
                .map(Self),
            serde_json::Value::String(s) => Self::parse_str(s),
            _ => None,
        }
    }
}

impl fmt::Display for GroupTypeIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_integers_only() {
        assert_eq!(GroupTypeIndex::parse_str("0"), Some(GroupTypeIndex(0)));
        assert_eq!(GroupTypeIndex::parse_str(" 3 "), Some(GroupTypeIndex(3)));
        assert_eq!(GroupTypeIndex::parse_str("-1"), Some(GroupTypeIndex(-1)));
        for bad in [
            "",
            "abc",
            "1.5",
            "1e3",
            "99999999999999999999999",
            "--1",
            "0x1",
            "-",
        ] {
            assert_eq!(GroupTypeIndex::parse_str(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_json_numbers_and_numeric_strings() {
        use serde_json::json;
        assert_eq!(
            GroupTypeIndex::parse_json(&json!(2)),
            Some(GroupTypeIndex(2))
        );
        assert_eq!(
            GroupTypeIndex::parse_json(&json!(2.0)),
            Some(GroupTypeIndex(2))
        );
        assert_eq!(
            GroupTypeIndex::parse_json(&json!("2")),
            Some(GroupTypeIndex(2))
        );
        assert_eq!(GroupTypeIndex::parse_json(&json!(2.5)), None);
        assert_eq!(GroupTypeIndex::parse_json(&json!(true)), None);
        assert_eq!(GroupTypeIndex::parse_json(&json!(null)), None);
    }
}
