//! PostHog's event filters, compiled once into a predicate over events. A usage metric's
//! `filters` (and, later, the UI's) is read here and nowhere else: [`EventFilter::parse`] checks
//! the shape and compiles what can be compiled (regexes), [`EventFilter::matches`] decides one
//! event against [`EventFacts`], which the caller implements over whatever holds the event.
//!
//! The shape: `{"events": [{"id": "api_request" | null, "properties": [filter…]}, …],
//! "properties": [filter…]}`. `events` entries are ORed (none = every event), each entry's
//! `properties` and the top-level `properties` ANDed. A property filter is
//! `{"key", "value", "operator", "type": "event" | "group", "group_type_index"}`.
//!
//! Values compare as PostHog's HogQL compares them: a missing or `null` property matches only the
//! negative operators (`is_not`, `not_icontains`, `not_regex`, `is_not_set`); numbers compare as
//! numbers, everything else as its text.
mod eval;
#[cfg(test)]
mod tests;

pub use eval::as_number;
use regex::Regex;
use serde_json::{Map, Value};

use crate::GroupTypeIndex;

/// Longest regex source accepted, and the compiled size bound (a filter is user input).
const REGEX_MAX_LEN: usize = 1000;
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A filter that cannot be compiled; `detail` is shown to the client as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct FilterError {
    /// A sentence naming the fault.
    pub detail: String,
}

fn refuse<T>(detail: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError {
        detail: detail.into(),
    })
}

/// How a property filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// Equal to the value, or to one of a list.
    Exact,
    /// Not equal to the value (nor to any of a list).
    IsNot,
    /// Holds the value as a case-insensitive substring.
    IContains,
    /// Does not hold it.
    NotIContains,
    /// Matches the regex.
    Regex,
    /// Does not match it.
    NotRegex,
    /// Greater than (as numbers).
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Present and not null.
    IsSet,
    /// Absent or null.
    IsNotSet,
}

impl Operator {
    const ALL: [(Operator, &'static str); 12] = [
        (Operator::Exact, "exact"),
        (Operator::IsNot, "is_not"),
        (Operator::IContains, "icontains"),
        (Operator::NotIContains, "not_icontains"),
        (Operator::Regex, "regex"),
        (Operator::NotRegex, "not_regex"),
        (Operator::Gt, "gt"),
        (Operator::Gte, "gte"),
        (Operator::Lt, "lt"),
        (Operator::Lte, "lte"),
        (Operator::IsSet, "is_set"),
        (Operator::IsNotSet, "is_not_set"),
    ];

    /// Parses a wire name (`exact`, `icontains`, …).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(o, _)| *o)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(o, _)| *o == self)
            .map_or("exact", |(_, n)| n)
    }

    fn takes_list(self) -> bool {
        matches!(self, Operator::Exact | Operator::IsNot)
    }

    fn takes_value(self) -> bool {
        !matches!(self, Operator::IsSet | Operator::IsNotSet)
    }
}

/// Whose property a filter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The event's own properties.
    Event,
    /// The properties of the event's group of this type.
    Group(GroupTypeIndex),
}

/// One compiled property filter.
#[derive(Debug, Clone)]
pub struct PropertyFilter {
    /// The property name.
    pub key: String,
    /// How it compares.
    pub operator: Operator,
    /// The value compared with (`null` for `is_set` / `is_not_set`).
    pub value: Value,
    /// Whose property.
    pub target: Target,
    regex: Option<Regex>,
}

/// One `events` entry: an event name (`None`: any) and its own property filters.
#[derive(Debug, Clone)]
pub struct EventSelector {
    /// The event name, or any event.
    pub event: Option<String>,
    /// ANDed filters.
    pub properties: Vec<PropertyFilter>,
}

/// A compiled `filters` object.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// ORed selectors; empty = every event.
    pub events: Vec<EventSelector>,
    /// ANDed filters on top of the selectors.
    pub properties: Vec<PropertyFilter>,
}

/// What the filter asks of one event. Implemented by the caller over its own event rows.
pub trait EventFacts {
    /// The event name.
    fn event(&self) -> &str;
    /// One of the event's properties.
    fn property(&self, key: &str) -> Option<&Value>;
    /// One property of the event's group of type `index` (`None` when the event has no such
    /// group, the group is not stored, or lacks the property).
    fn group_property(&self, index: GroupTypeIndex, key: &str) -> Option<&Value>;
}

impl EventFilter {
    /// Compiles a `filters` object. Unknown fields are ignored, as PostHog ignores them.
    pub fn parse(v: &Value) -> Result<Self, FilterError> {
        let Value::Object(obj) = v else {
            return refuse("Filters must be an object.");
        };
        let events = match obj.get("events") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, e)| EventSelector::parse(e, i))
                .collect::<Result<_, _>>()?,
            Some(_) => return refuse("filters.events must be a list."),
        };
        let properties = parse_filters(obj.get("properties"), "filters.properties")?;
        Ok(Self { events, properties })
    }

    /// True when the filter selects nothing in particular: no `events` entry and no property
    /// filter (a metric with such filters has no value).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.properties.is_empty()
    }

    /// The group type indexes whose properties the filter reads (callers load those groups).
    pub fn group_indexes(&self) -> Vec<GroupTypeIndex> {
        let mut out: Vec<GroupTypeIndex> = Vec::new();
        let all = self
            .properties
            .iter()
            .chain(self.events.iter().flat_map(|e| &e.properties));
        for f in all {
            if let Target::Group(i) = f.target
                && !out.contains(&i)
            {
                out.push(i);
            }
        }
        out.sort();
        out
    }

    /// True when the event passes the filter.
    pub fn matches(&self, e: &impl EventFacts) -> bool {
        let selected = self.events.is_empty()
            || self.events.iter().any(|s| {
                s.event.as_deref().is_none_or(|n| n == e.event())
                    && s.properties.iter().all(|f| f.matches(e))
            });
        selected && self.properties.iter().all(|f| f.matches(e))
    }
}

impl EventSelector {
    fn parse(v: &Value, i: usize) -> Result<Self, FilterError> {
        let Value::Object(obj) = v else {
            return refuse(format!("filters.events[{i}] must be an object."));
        };
        let event = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return refuse(format!("filters.events[{i}].id must be a string or null.")),
        };
        let properties = parse_filters(
            obj.get("properties"),
            &format!("filters.events[{i}].properties"),
        )?;
        Ok(Self { event, properties })
    }
}

fn parse_filters(v: Option<&Value>, at: &str) -> Result<Vec<PropertyFilter>, FilterError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, f)| PropertyFilter::parse(f, &format!("{at}[{i}]")))
            .collect(),
        // PostHog's older shape: `{"type": "AND", "values": [...]}` groups are not accepted.
        Some(_) => refuse(format!("{at} must be a list of property filters.")),
    }
}

impl PropertyFilter {
    /// Compiles one property filter; `at` names it in errors (`filters.properties[0]`).
    pub fn parse(v: &Value, at: &str) -> Result<Self, FilterError> {
        let Value::Object(obj) = v else {
            return refuse(format!("{at} must be an object."));
        };
        let key = match obj.get("key") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return refuse(format!("{at}.key must be a non-empty string.")),
        };
        let operator = match obj.get("operator") {
            None | Some(Value::Null) => Operator::Exact,
            Some(Value::String(s)) => Operator::parse(s).ok_or_else(|| FilterError {
                detail: format!("{at}.operator '{s}' is not supported."),
            })?,
            Some(_) => return refuse(format!("{at}.operator must be a string.")),
        };
        let target = parse_target(obj, at)?;
        let value = obj.get("value").cloned().unwrap_or(Value::Null);
        let value = if operator.takes_value() {
            check_value(operator, value, at)?
        } else {
            Value::Null
        };
        let regex = match operator {
            Operator::Regex | Operator::NotRegex => Some(compile_regex(&value, at)?),
            _ => None,
        };
        Ok(Self {
            key,
            operator,
            value,
            target,
            regex,
        })
    }
}

fn parse_target(obj: &Map<String, Value>, at: &str) -> Result<Target, FilterError> {
    match obj.get("type").and_then(Value::as_str).unwrap_or("event") {
        "event" => Ok(Target::Event),
        "group" => obj
            .get("group_type_index")
            .and_then(GroupTypeIndex::parse_json)
            .filter(|i| i.0 >= 0)
            .map(Target::Group)
            .ok_or_else(|| FilterError {
                detail: format!("{at}.group_type_index is required for a group property filter."),
            }),
        other => refuse(format!(
            "{at}.type '{other}' is not supported (expected 'event' or 'group')."
        )),
    }
}

fn check_value(operator: Operator, value: Value, at: &str) -> Result<Value, FilterError> {
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    match &value {
        v if scalar(v) => Ok(value),
        Value::Array(items)
            if operator.takes_list() && !items.is_empty() && items.iter().all(scalar) =>
        {
            Ok(value)
        }
        Value::Null => refuse(format!(
            "{at}.value is required for operator '{}'.",
            operator.as_str()
        )),
        _ if operator.takes_list() => refuse(format!(
            "{at}.value must be a string, number, boolean or a non-empty list of them."
        )),
        _ => refuse(format!("{at}.value must be a string, number or boolean.")),
    }
}

fn compile_regex(value: &Value, at: &str) -> Result<Regex, FilterError> {
    let source = crate::groups::value_text(value);
    if source.len() > REGEX_MAX_LEN {
        return refuse(format!(
            "{at}.value is too long a regex (at most {REGEX_MAX_LEN} bytes)."
        ));
    }
    regex::RegexBuilder::new(&source)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .or_else(|_| refuse(format!("{at}.value is not a valid regex.")))
}
