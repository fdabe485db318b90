//! One property filter against one event: pure, total (no input panics or errs).
use serde_json::Value;

use super::{EventFacts, Operator, PropertyFilter, Target};
use crate::groups::value_text;

/// A value as a number: JSON numbers, and strings holding one (HogQL's `toFloat`); `None`
/// otherwise.
pub fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Equality as HogQL compares a property with a literal: as numbers when both are numbers,
/// else as text (`true` equals `"true"`).
fn equal(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (as_number(a), as_number(b))
        && (a.is_number() || b.is_number())
    {
        return x == y;
    }
    value_text(a) == value_text(b)
}

impl PropertyFilter {
    /// True when the event passes this filter.
    pub fn matches(&self, e: &impl EventFacts) -> bool {
        let found = match self.target {
            Target::Event => e.property(&self.key),
            Target::Group(i) => e.group_property(i, &self.key),
        };
        self.test(found.filter(|v| !v.is_null()))
    }

    /// The comparison itself, `v` the property's value (`None`: missing or null).
    fn test(&self, v: Option<&Value>) -> bool {
        use Operator::*;
        let Some(v) = v else {
            return matches!(self.operator, IsNot | NotIContains | NotRegex | IsNotSet);
        };
        match self.operator {
            IsSet => true,
            IsNotSet => false,
            Exact => self.any_equal(v),
            IsNot => !self.any_equal(v),
            IContains => self.contains(v),
            NotIContains => !self.contains(v),
            Regex => self.regex_match(v),
            NotRegex => !self.regex_match(v),
            Gt | Gte | Lt | Lte => match (as_number(v), as_number(&self.value)) {
                (Some(x), Some(y)) => match self.operator {
                    Gt => x > y,
                    Gte => x >= y,
                    Lt => x < y,
                    _ => x <= y,
                },
                _ => false,
            },
        }
    }

    fn any_equal(&self, v: &Value) -> bool {
        match &self.value {
            Value::Array(items) => items.iter().any(|item| equal(v, item)),
            one => equal(v, one),
        }
    }

    fn contains(&self, v: &Value) -> bool {
        value_text(v)
            .to_lowercase()
            .contains(&value_text(&self.value).to_lowercase())
    }

    fn regex_match(&self, v: &Value) -> bool {
        self.regex
            .as_ref()
            .is_some_and(|r| r.is_match(&value_text(v)))
    }
}
