//! Records the store returns and takes. Times are µs since the epoch.
use groupd_core::{Actor, GroupTypeIndex, ScopeSet, SecretDigest};
use serde_json::{Map, Value};

/// A project (PostHog: team).
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Integer id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Public capture token (`phc_…`).
    pub api_token: String,
    /// Creation time.
    pub created_at: i64,
}

/// A personal API key as stored (no plaintext).
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// Integer id.
    pub id: i64,
    /// Label, shown as the actor of its changes.
    pub label: String,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Projects the key is limited to; `None` = every project.
    pub projects: Option<Vec<i64>>,
    /// Creation time.
    pub created_at: i64,
}

impl ApiKey {
    /// True when the key may act on `project`.
    pub fn may_access(&self, project: i64) -> bool {
        self.projects.as_ref().is_none_or(|p| p.contains(&project))
    }
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Label.
    pub label: String,
    /// SHA-256 of the plaintext.
    pub digest: SecretDigest,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Project limit.
    pub projects: Option<Vec<i64>>,
}

/// A group type of a project.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupType {
    /// Index 0..max_group_types.
    pub index: i64,
    /// Name used in capture, e.g. `company`.
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
    /// Name.
    pub group_type: String,
    /// Singular display name.
    pub name_singular: Option<String>,
    /// Plural display name.
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

/// A group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Internal numeric id (activity `item_id`).
    pub id: i64,
    /// Type index.
    pub index: i64,
    /// Key.
    pub key: String,
    /// Current properties as stored JSON object text (key order kept). Kept as text so list
    /// pages are written out without parsing and re-serialising every property.
    pub properties_json: String,
    /// Earliest known time of the group.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

impl Group {
    /// The properties, parsed.
    pub fn properties(&self) -> Map<String, Value> {
        serde_json::from_str(&self.properties_json).unwrap_or_default()
    }
}

/// Parameters of a group list page.
#[derive(Debug, Clone, Default)]
pub struct GroupListQuery {
    /// Type index.
    pub index: i64,
    /// Lower-cased search text (properties JSON substring or exact key).
    pub search: Option<String>,
    /// Lower-cased key substring.
    pub key_contains: Option<String>,
    /// Rows strictly after this `(created_at, group_key)` in list order.
    pub after: Option<(i64, String)>,
    /// Rows to return.
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
    /// Type index.
    pub index: i64,
    /// Property name.
    pub name: String,
    /// Groups holding it.
    pub count: i64,
}

/// A property value (as text) with the number of groups holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    /// The value as text.
    pub name: String,
    /// Groups holding it.
    pub count: i64,
}

/// What one capture request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Events newly stored.
    pub stored: usize,
    /// Retries of events already stored (ignored, group changes included).
    pub duplicates: usize,
    /// `$groupidentify` events applied.
    pub group_updates: usize,
    /// Ingestion warnings recorded.
    pub warnings: usize,
}

/// An ingestion warning.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestionWarning {
    /// `group_type_limit_reached`, `invalid_group_identify`.
    pub kind: String,
    /// Details object.
    pub details: Value,
    /// When it was recorded.
    pub timestamp: i64,
}
