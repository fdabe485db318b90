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
}

impl ApiKey {
    /// True when the key may act on `project`.
    pub fn may_access(&self, project: ProjectId) -> bool {
        self.projects.as_ref().is_none_or(|p| p.contains(&project))
    }
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Shown as the actor of the key's changes.
    pub label: String,
    /// SHA-256 of the plaintext (the plaintext is never stored).
    pub digest: SecretDigest,
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

/// Who makes a change and when (server time, µs): the event time of a REST edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Shown in the activity log.
    pub actor: Actor,
    /// When.
    pub at_us: i64,
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

/// One capture request's validated events.
#[derive(Debug, Clone)]
pub struct IngestBatch {
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
#[allow(missing_docs)] // the fields as the engine/segments contract spells them
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRef {
    pub id: i64,
    pub project: ProjectId,
    /// Object-store path relative to the segment root, e.g. `p1/2026-06-01/<uuid v7>.parquet`.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub min_timestamp_us: i64,
    pub max_timestamp_us: i64,
}

/// An event as the row store holds it until it is compacted.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub uuid: uuid::Uuid,
    pub event: String,
    pub distinct_id: String,
    pub timestamp_us: i64,
    pub created_at_us: i64,
    /// The properties object as JSON text.
    pub properties: String,
    /// Position = group type index; `""` = no group of that index.
    pub group_keys: Vec<String>,
}

/// What one query reads: the live segments and the events not yet compacted, taken in one
/// consistent view (one read transaction), so a compaction is seen entirely or not at all.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)]
pub struct EventsSnapshot {
    pub segments: Vec<SegmentRef>,
    pub hot: Vec<StoredEvent>,
}
