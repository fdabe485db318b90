//! Records the store returns and takes. Times are µs since the Unix epoch.
use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, ProjectId, ProjectToken, ScopeSet, SecretDigest,
    capture::CaptureEvent, cursor::Cursor, merge::PropOp,
};
use serde_json::{Map, Value};

pub use groupd_core::capture::IngestSummary;

/// A project (PostHog: team).
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// The project's id.
    pub id: ProjectId,
    /// Display name.
    pub name: String,
    /// Public capture token.
    pub api_token: ProjectToken,
    /// Creation time.
    pub created_at: i64,
}

/// A project to create.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Display name.
    pub name: String,
    /// A token to keep (e.g. the one SDKs already send to PostHog); `None`: a fresh one.
    pub api_token: Option<ProjectToken>,
}

/// A personal API key as stored (no plaintext).
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// The key's id.
    pub id: i64,
    /// Shown as the actor of the key's changes.
    pub label: String,
    /// What the key may do.
    pub scopes: ScopeSet,
    /// The projects the key is limited to; `None`: every project.
    pub projects: Option<Vec<ProjectId>>,
    /// Creation time.
    pub created_at: i64,
    /// The prefix and last 4 characters of the plaintext; `None` for keys older than masks.
    pub mask_value: Option<String>,
    /// When the key last authenticated a request, to the minute.
    pub last_used_at: Option<i64>,
}

impl ApiKey {
    /// True when the key may act on `project`.
    pub fn may_access(&self, project: ProjectId) -> bool {
        self.projects.as_ref().is_none_or(|p| p.contains(&project))
    }
}

/// A web UI session to store.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Digest of the random session id (the id itself is never stored).
    pub digest: SecretDigest,
    /// The key the session acts for.
    pub key_id: i64,
    /// The token every changing form of the session carries.
    pub csrf_token: String,
    /// Creation time, also its first use.
    pub now_us: i64,
    /// Sessions last used before this are deleted.
    pub expire_before_us: i64,
}

/// A live web UI session.
#[derive(Debug, Clone)]
pub struct UiSession {
    /// The key it acts for (live).
    pub key: ApiKey,
    /// Its CSRF token.
    pub csrf_token: String,
    /// Its last recorded use.
    pub last_seen_us: i64,
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Shown as the actor of the key's changes.
    pub label: String,
    /// SHA-256 of the plaintext (the plaintext is never stored).
    pub digest: SecretDigest,
    /// How listings show the key (`groupd_core::mask_secret`).
    pub mask_value: String,
    /// What the key may do.
    pub scopes: ScopeSet,
    /// The projects the key is limited to; `None`: every project. Each must exist.
    pub projects: Option<Vec<ProjectId>>,
}

/// A group type of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupType {
    /// Its index, below the project's `max_group_types`.
    pub index: GroupTypeIndex,
    /// The name capture uses, e.g. `company`.
    pub group_type: String,
    /// Display name, singular.
    pub name_singular: Option<String>,
    /// Display name, plural.
    pub name_plural: Option<String>,
    /// Columns shown by default.
    pub default_columns: Option<Vec<String>>,
    /// Creation time.
    pub created_at: i64,
}

/// A type to create through REST.
#[derive(Debug, Clone)]
pub struct NewGroupType {
    /// The project.
    pub project: ProjectId,
    /// The project's limit: the type takes the smallest free index below it.
    pub max_group_types: u32,
    /// The name capture uses.
    pub group_type: String,
    /// Display name, singular.
    pub name_singular: Option<String>,
    /// Display name, plural.
    pub name_plural: Option<String>,
}

/// A change to one type's display names; `None` leaves a name as it is, `Some(None)` clears it.
#[derive(Debug, Clone)]
pub struct GroupTypeMetadataUpdate {
    /// The type.
    pub index: GroupTypeIndex,
    /// New singular name.
    pub name_singular: Option<Option<String>>,
    /// New plural name.
    pub name_plural: Option<Option<String>>,
}

/// Which group type: its project and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRef {
    /// The project.
    pub project: ProjectId,
    /// The type's index.
    pub index: GroupTypeIndex,
}

/// Which group: its project, type and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The project.
    pub project: ProjectId,
    /// The group's type.
    pub index: GroupTypeIndex,
    /// The group's key, exact (case-sensitive).
    pub key: GroupKey,
}

/// Where a group change came from: recorded with every property version and change-stream entry
/// (`source` in lifecycle.md).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ChangeSource {
    /// A capture event (`$groupidentify`), by its uuid when known.
    Capture {
        /// The event's uuid.
        event_uuid: Option<uuid::Uuid>,
    },
    /// A REST call, by the label of the key that made it (`None`: no key, e.g. the CLI).
    Api {
        /// The key's label.
        key_label: Option<String>,
    },
    /// An NDJSON import line.
    #[default]
    Import,
}

impl ChangeSource {
    /// The REST source of a change made by `actor`.
    pub fn api(actor: &Actor) -> Self {
        Self::Api {
            key_label: match actor {
                Actor::Key(l) => Some(l.clone()),
                Actor::System => None,
            },
        }
    }

    /// `capture`, `api` or `import`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Capture { .. } => "capture",
            Self::Api { .. } => "api",
            Self::Import => "import",
        }
    }

    /// The `source` object of the API: `{"kind": …, "event_uuid" | "key_label": …}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Capture {
                event_uuid: Some(u),
            } => {
                serde_json::json!({"kind": "capture", "event_uuid": u.to_string()})
            }
            Self::Capture { event_uuid: None } => serde_json::json!({"kind": "capture"}),
            Self::Api { key_label } => serde_json::json!({"kind": "api", "key_label": key_label}),
            Self::Import => serde_json::json!({"kind": "import"}),
        }
    }

    /// The source as the stores keep it with each version and stream entry: `c` (capture) with
    /// the event's uuid in 32 hex digits when known, `i` (import), `a` (api) with `:label` when
    /// a key made it. A version repeats its edit's source, and the JSON object of
    /// [`Self::to_json`] with a uuid took 66 bytes of a version's ~150 (this form: 33).
    pub fn to_stored(&self) -> String {
        match self {
            Self::Capture {
                event_uuid: Some(u),
            } => format!("c{}", u.simple()),
            Self::Capture { event_uuid: None } => "c".to_owned(),
            Self::Api { key_label: Some(l) } => format!("a:{l}"),
            Self::Api { key_label: None } => "a".to_owned(),
            Self::Import => "i".to_owned(),
        }
    }

    /// Reads [`Self::to_stored`] back, and the JSON object rows written before it (they start
    /// with `{`); anything else is an import.
    pub fn from_stored(s: &str) -> Self {
        if s.starts_with('{') {
            return Self::from_json(&serde_json::from_str(s).unwrap_or_default());
        }
        match s.as_bytes().first() {
            Some(b'c') => Self::Capture {
                event_uuid: uuid::Uuid::try_parse(&s[1..]).ok(),
            },
            Some(b'a') => Self::Api {
                key_label: s.strip_prefix("a:").map(str::to_owned),
            },
            _ => Self::Import,
        }
    }

    /// Reads [`Self::to_json`] back (what the stores keep); anything else is an import.
    pub fn from_json(v: &Value) -> Self {
        match v.get("kind").and_then(Value::as_str) {
            Some("capture") => Self::Capture {
                event_uuid: v
                    .get("event_uuid")
                    .and_then(Value::as_str)
                    .and_then(|u| uuid::Uuid::parse_str(u).ok()),
            },
            Some("api") => Self::Api {
                key_label: v
                    .get("key_label")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            _ => Self::Import,
        }
    }
}

/// Who makes a change and when (server time, µs): the event time of a REST edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Shown in the activity log.
    pub actor: Actor,
    /// When.
    pub at_us: i64,
    /// Recorded with the change's versions and stream entries.
    pub source: ChangeSource,
}

impl Change {
    /// A REST change by `actor` at `at_us` (source `api`).
    pub fn api(actor: Actor, at_us: i64) -> Self {
        let source = ChangeSource::api(&actor);
        Self {
            actor,
            at_us,
            source,
        }
    }
}

/// A group to create through REST.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGroup {
    /// Where.
    pub group: GroupRef,
    /// Its properties, in order, set at the change's time.
    pub properties: Map<String, Value>,
}

/// One property operation on an existing group.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyEdit {
    /// The group.
    pub group: GroupRef,
    /// The property.
    pub property: String,
    /// What to do to it.
    pub op: PropOp,
}

/// A group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Internal numeric id (activity `item_id`).
    pub id: i64,
    /// The group's type.
    pub index: GroupTypeIndex,
    /// The group's key.
    pub key: GroupKey,
    /// Current properties as stored JSON object text (key order kept). Kept as text so list
    /// pages are written out without parsing and re-serialising every property.
    pub properties_json: String,
    /// Earliest known (event) time of the group.
    pub created_at: i64,
    /// Last visible change (server time).
    pub updated_at: i64,
}

impl Group {
    /// The properties, parsed.
    pub fn properties(&self) -> Map<String, Value> {
        serde_json::from_str(&self.properties_json).unwrap_or_default()
    }
}

/// Parameters of a group list page.
#[derive(Debug, Clone)]
pub struct GroupListQuery {
    /// The type listed.
    pub index: GroupTypeIndex,
    /// Search text as the user gave it: a case-insensitive substring of the properties' JSON
    /// text, or the whole key, case-insensitively.
    pub search: Option<String>,
    /// A case-insensitive substring of the key, as the user gave it.
    pub key_contains: Option<String>,
    /// Rows strictly after this position in list order (`created_at` desc, `group_key` desc).
    pub after: Option<Cursor>,
    /// Rows to return.
    pub limit: u64,
    /// Read the groups as they were at this event time (µs): those created by then, each
    /// property at its latest version dated at or before it. `None`: now.
    pub as_of: Option<i64>,
}

impl GroupListQuery {
    /// The first `limit` groups of a type, unfiltered.
    pub fn new(index: GroupTypeIndex, limit: u64) -> Self {
        Self {
            index,
            search: None,
            key_contains: None,
            after: None,
            limit,
            as_of: None,
        }
    }
}

/// Which page of a group's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityPage {
    /// The group's internal id.
    pub group_id: i64,
    /// Entries to skip (newest first).
    pub offset: u64,
    /// Entries to return.
    pub limit: u64,
}

/// One activity log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityEntry {
    /// Public id (UUID text).
    pub id: String,
    /// Who made the change.
    pub actor: Actor,
    /// `create_group`, `create_property`, `update_property`.
    pub activity: String,
    /// The group's internal id.
    pub item_id: i64,
    /// The `detail` object as stored.
    pub detail: Value,
    /// When.
    pub created_at: i64,
}

/// A property name on a type with the number of groups holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyCount {
    /// The type.
    pub index: GroupTypeIndex,
    /// The property.
    pub name: String,
    /// Groups holding it.
    pub count: i64,
}

/// Which values `property_values` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesQuery {
    /// The type.
    pub index: GroupTypeIndex,
    /// The property.
    pub property: String,
    /// A case-insensitive substring the values must hold, as the user gave it.
    pub value_contains: Option<String>,
}

/// A property value (as text) with the number of groups holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    /// The value as text: strings bare, anything else as compact JSON.
    pub name: String,
    /// Groups holding it.
    pub count: i64,
}

/// What an ingest batch is: capture (each group change sourced by its event's uuid) or an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IngestSource {
    /// Capture events: stored, and their `$groupidentify` applied with source `capture`.
    #[default]
    Capture,
    /// Import lines: their group changes are recorded with source `import`.
    Import,
}

/// One capture request's validated events.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    /// Capture or import (the `source` of the changes).
    pub source: IngestSource,
    /// The events, in request order.
    pub events: Vec<CaptureEvent>,
    /// The project's type limit (types beyond it are warned about, not created).
    pub max_group_types: u32,
    /// When the request was received.
    pub now_us: i64,
}

/// An ingestion warning as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionWarning {
    /// `group_type_limit_reached`, `invalid_group_identify`.
    pub kind: String,
    /// The details object.
    pub details: Value,
    /// When it was recorded.
    pub timestamp: i64,
}

/// One live Parquet segment of a project's events, as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRef {
    /// The catalog row's id.
    pub id: i64,
    /// The project whose events it holds.
    pub project: ProjectId,
    /// Object-store path relative to the segment root, e.g. `p1/2026-06-01/<uuid v7>.parquet`.
    pub path: String,
    /// Events in the file.
    pub rows: u64,
    /// Size of the file.
    pub bytes: u64,
    /// The earliest event time in the file, µs.
    pub min_timestamp_us: i64,
    /// The latest event time in the file, µs.
    pub max_timestamp_us: i64,
}

/// An event as the row store holds it until it is compacted.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The event's uuid.
    pub uuid: uuid::Uuid,
    /// The event name.
    pub event: String,
    /// Who did it.
    pub distinct_id: String,
    /// Event time (skew-corrected), µs.
    pub timestamp_us: i64,
    /// When groupd received it, µs.
    pub created_at_us: i64,
    /// The properties object as JSON text.
    pub properties: String,
    /// Position = group type index; `""` = no group of that index.
    pub group_keys: Vec<String>,
}

/// What one query reads: the live segments and the events not yet compacted, taken in one
/// consistent view (one read transaction), so a compaction is seen entirely or not at all.
#[derive(Debug, Clone, Default)]
pub struct EventsSnapshot {
    /// The live segments.
    pub segments: Vec<SegmentRef>,
    /// The events still in the row store.
    pub hot: Vec<StoredEvent>,
}

/// The events of one project whose timestamps fall on one UTC day: what one segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// The project.
    pub project: ProjectId,
    /// The UTC day, in days since the Unix epoch (1970-01-01 is 0).
    pub day: i64,
}

/// µs in a day.
pub const DAY_US: i64 = 86_400_000_000;

impl Partition {
    /// The partition of an event of `project` at `timestamp_us`.
    pub fn of(project: ProjectId, timestamp_us: i64) -> Self {
        Self {
            project,
            day: timestamp_us.div_euclid(DAY_US),
        }
    }

    /// The first µs of the day.
    pub fn start_us(&self) -> i64 {
        self.day.saturating_mul(DAY_US)
    }

    /// The first µs after the day.
    pub fn end_us(&self) -> i64 {
        self.day.saturating_add(1).saturating_mul(DAY_US)
    }
}

/// A partition with events waiting in the row store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotPartition {
    /// Which project and day.
    pub partition: Partition,
    /// How many of its events are waiting.
    pub rows: u64,
}

/// An event on its way into a segment, with the rest of its idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct MovingEvent {
    /// The client timestamp as sent (µs; `i64::MIN` when absent): with the project and uuid, the
    /// idempotency key that stays checkable after the event has moved.
    pub sent_ts: i64,
    /// The event.
    pub event: StoredEvent,
}

/// A segment file already written to the object store, to be made live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSegment {
    /// The partition its events belong to.
    pub partition: Partition,
    /// Object-store path relative to the segment root.
    pub path: String,
    /// Events in the file.
    pub rows: u64,
    /// Size of the file.
    pub bytes: u64,
    /// The earliest event time in the file, µs.
    pub min_timestamp_us: i64,
    /// The latest event time in the file, µs.
    pub max_timestamp_us: i64,
}

/// The idempotency key of an event moved out of the row store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MovedKey {
    /// The client timestamp as sent, µs (`i64::MIN` when absent).
    pub sent_ts: i64,
    /// The event's uuid.
    pub uuid: uuid::Uuid,
    /// When the event was received, µs: the key is kept for the dedup window after it.
    pub created_at_us: i64,
}

/// One atomic change of the catalog: a new live segment, the events it took out of the row store
/// (their keys kept for deduplication), and the segments it replaces (a merge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCommit {
    /// The segment to list.
    pub segment: NewSegment,
    /// Events of the row store that are now in the segment.
    pub moved: Vec<MovedKey>,
    /// Ids of live segments of the same partition whose events the new one holds.
    pub replaces: Vec<i64>,
    /// When this commit happens, µs.
    pub now_us: i64,
}

#[cfg(test)]
mod tests {
    use super::ChangeSource;

    #[test]
    fn stored_sources_round_trip_and_older_json_rows_still_read() {
        let u = uuid::Uuid::parse_str("0190b2c4-1a2b-7c3d-8e4f-5a6b7c8d9e0f").unwrap();
        for s in [
            ChangeSource::Capture {
                event_uuid: Some(u),
            },
            ChangeSource::Capture { event_uuid: None },
            ChangeSource::Api {
                key_label: Some("crm:sync {x}".into()),
            },
            ChangeSource::Api { key_label: None },
            ChangeSource::Import,
        ] {
            assert_eq!(ChangeSource::from_stored(&s.to_stored()), s);
            // What versions and stream entries held before the compact form.
            assert_eq!(ChangeSource::from_stored(&s.to_json().to_string()), s);
        }
        assert_eq!(
            ChangeSource::Capture {
                event_uuid: Some(u)
            }
            .to_stored()
            .len(),
            33
        );
    }
}
