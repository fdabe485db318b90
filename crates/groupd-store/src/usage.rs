//! Records of the parity reads: events by time window (related groups, usage metrics), usage
//! metrics, and typed property definitions. Times are µs since the Unix epoch.
use groupd_core::{GroupTypeIndex, ProjectId, groups::PropertyType};
use serde_json::Value;

/// Which of a project's events a window read returns: `since_us <= timestamp <= until_us`,
/// optionally only those of one distinct_id or one group. The narrowing is a hint the backend
/// may apply in SQL; callers still check each event (returning more is correct, less is not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventWindow {
    /// The project.
    pub project: ProjectId,
    /// Earliest event time, inclusive.
    pub since_us: i64,
    /// Latest event time, inclusive; `None`: no bound.
    pub until_us: Option<i64>,
    /// Only events of this distinct_id or group.
    pub only: Option<EventsOf>,
}

/// The narrowing of an [`EventWindow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsOf {
    /// Events of one distinct_id.
    DistinctId(String),
    /// Events whose `$group_N` is this key.
    Group(GroupTypeIndex, String),
}

/// An event as a window read returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowEvent {
    /// The event name.
    pub event: String,
    /// Who sent it.
    pub distinct_id: String,
    /// Event time.
    pub timestamp_us: i64,
    /// When groupd received it: its `$group_N` keys follow the types of that moment.
    pub created_at_us: i64,
    /// The properties object as JSON text.
    pub properties: String,
    /// Position = group type index; `""` = no group of that index.
    pub group_keys: Vec<String>,
}

impl WindowEvent {
    /// The event's group key of type `index`, `""` when none.
    pub fn group_key(&self, index: GroupTypeIndex) -> &str {
        usize::try_from(index.0)
            .ok()
            .and_then(|i| self.group_keys.get(i))
            .map_or("", String::as_str)
    }
}

/// A usage metric of a group type, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageMetric {
    /// Its id (UUID v7).
    pub id: uuid::Uuid,
    /// The project.
    pub project: ProjectId,
    /// The group type it belongs to.
    pub index: GroupTypeIndex,
    /// Unique per project and type.
    pub name: String,
    /// `numeric` or `currency`.
    pub format: String,
    /// Days in one period.
    pub interval: i64,
    /// `number` or `sparkline`.
    pub display: String,
    /// The `filters` object as sent.
    pub filters: Value,
    /// `count` or `sum`.
    pub math: String,
    /// The event property summed when `math` is `sum`.
    pub math_property: Option<String>,
    /// Creation time.
    pub created_at: i64,
}

/// Which typed property definitions to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedPropertyQuery {
    /// The group type.
    pub index: GroupTypeIndex,
    /// A case-insensitive substring of the name, as the user gave it.
    pub search: Option<String>,
    /// Rows to skip (names ascending).
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

/// A property of a group type with its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedProperty {
    /// The property name.
    pub name: String,
    /// Its type; `None` when only untyped values (null, objects, arrays) were seen.
    pub property_type: Option<PropertyType>,
}
