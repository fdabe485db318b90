//! A property's type, as PostHog's property definitions report it, decided from a value seen.
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// `property_type` of a property definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    /// JSON booleans and the strings `true` / `false`.
    Boolean,
    /// JSON numbers.
    Numeric,
    /// Strings that read as an ISO 8601 / RFC 3339 date or date-time.
    DateTime,
    /// Any other string.
    String,
}

impl PropertyType {
    /// The wire name (`Boolean`, `Numeric`, `DateTime`, `String`).
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::Boolean => "Boolean",
            PropertyType::Numeric => "Numeric",
            PropertyType::DateTime => "DateTime",
            PropertyType::String => "String",
        }
    }

    /// Parses a wire name (as stored).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Boolean, Self::Numeric, Self::DateTime, Self::String]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    /// The type a value shows; `None` for `null`, objects and arrays, which PostHog leaves
    /// untyped (a later value of the property may type it).
    pub fn of(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(_) => Some(Self::Boolean),
            Value::Number(_) => Some(Self::Numeric),
            Value::String(s) => Some(Self::of_text(s)),
            _ => None,
        }
    }

    fn of_text(s: &str) -> Self {
        let t = s.trim();
        if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
            Self::Boolean
        } else if is_date_time(t) {
            Self::DateTime
        } else {
            Self::String
        }
    }
}

/// `YYYY-MM-DD`, optionally with `T` or a space and `HH:MM[:SS[.fraction]]`, optionally with `Z`
/// or an offset, the calendar date valid.
fn is_date_time(s: &str) -> bool {
    static ISO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$",
        )
        .expect("a valid regex")
    });
    let Some(c) = ISO.captures(s) else {
        return false;
    };
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i32>().ok());
    match (num(1), num(2), num(3)) {
        (Some(y), Some(m), Some(d)) => time::Month::try_from(m as u8)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(y, m, d as u8).ok())
            .is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_typed_as_posthog_types_them() {
        for (v, want) in [
            (json!(true), Some(PropertyType::Boolean)),
            (json!("false"), Some(PropertyType::Boolean)),
            (json!(" TRUE "), Some(PropertyType::Boolean)),
            (json!(12), Some(PropertyType::Numeric)),
            (json!(1.5), Some(PropertyType::Numeric)),
            (json!("12"), Some(PropertyType::String)),
            (json!("2026-05-02T10:01:02Z"), Some(PropertyType::DateTime)),
            (
                json!("2026-05-02T10:01:02.123+02:00"),
                Some(PropertyType::DateTime),
            ),
            (json!("2026-05-02 10:01"), Some(PropertyType::DateTime)),
            (json!("2026-05-02"), Some(PropertyType::DateTime)),
            (json!("2026-02-30"), Some(PropertyType::String)),
            (json!("2026-05-02T25:00:00Z"), Some(PropertyType::String)),
            (json!("yesterday"), Some(PropertyType::String)),
            (json!(null), None),
            (json!({"a": 1}), None),
            (json!([1]), None),
        ] {
            assert_eq!(PropertyType::of(&v), want, "{v}");
        }
    }

    proptest::proptest! {
        /// Any text is typed without a panic, and a date-time is never typed from text that
        /// lacks its `YYYY-MM-DD` start.
        #[test]
        fn any_text_is_typed(s in "\\PC{0,40}|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.Z+-]{0,20}") {
            let t = PropertyType::of(&json!(s));
            if t == Some(PropertyType::DateTime) {
                let t = s.trim();
                proptest::prop_assert!(t.len() >= 10 && t.as_bytes()[4] == b'-');
            }
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for t in ["Boolean", "Numeric", "DateTime", "String"] {
            assert_eq!(PropertyType::parse(t).map(PropertyType::as_str), Some(t));
        }
    }
}
