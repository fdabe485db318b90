//! The wire types of the API as OpenAPI schemas, for `/api/schema/`.
//!
//! Handlers write their JSON directly (the group object is spliced from stored text, for speed),
//! so these types only describe it; `tests/api/openapi.rs` checks real answers against them, so
//! a change of shape that is not made here too fails the suite.
#![allow(dead_code, reason = "schema-only types: described, never built")]

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A group.
#[derive(Serialize, ToSchema)]
pub struct Group {
    /// The index of the group's type in the project (0–63).
    pub group_type_index: i64,
    /// The key, at most 400 characters.
    pub group_key: String,
    /// The properties, each keeping its JSON type; key order as stored.
    pub group_properties: Map<String, Value>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Only on `groups/find`: always null (PostHog's notebook link).
    #[schema(value_type = Option<Object>)]
    pub notebook: Option<Value>,
}

/// A page of groups, newest first.
#[derive(Serialize, ToSchema)]
pub struct GroupPage {
    /// The absolute URL of the next page, null on the last.
    pub next: Option<String>,
    /// Always null (cursor pagination).
    pub previous: Option<String>,
    pub results: Vec<Group>,
}

/// The body of `POST /groups/`.
#[derive(Serialize, ToSchema)]
pub struct NewGroup {
    pub group_type_index: i64,
    /// Non-blank, at most 400 characters.
    pub group_key: String,
    /// Missing or null = `{}`.
    pub group_properties: Option<Map<String, Value>>,
}

/// The body of `POST /groups/update_property`.
#[derive(Serialize, ToSchema)]
pub struct SetProperty {
    /// The property's name.
    pub key: String,
    /// Any JSON but null.
    pub value: Value,
}

/// The body of `POST /groups/delete_property`.
#[derive(Serialize, ToSchema)]
pub struct UnsetProperty {
    /// The property's name.
    #[serde(rename = "$unset")]
    pub unset: String,
}

/// The body of `PATCH /groups_types/{index}/groups/{key}`: one change of several properties.
#[derive(Serialize, ToSchema)]
pub struct GroupPatch {
    /// Properties to set.
    #[serde(rename = "$set")]
    pub set: Option<Map<String, Value>>,
    /// Property names to remove (each must exist).
    #[serde(rename = "$unset")]
    pub unset: Option<Vec<String>>,
}

/// Who made an activity entry.
#[derive(Serialize, ToSchema)]
pub struct ActivityUser {
    /// The label of the key, or `System` for capture.
    pub first_name: String,
    /// Always null.
    pub email: Option<String>,
    /// True for changes made by capture.
    pub is_system: Option<bool>,
}

/// One activity entry.
#[derive(Serialize, ToSchema)]
pub struct ActivityEntry {
    pub id: String,
    pub user: ActivityUser,
    /// `create_group`, `create_property` or `update_property`.
    pub activity: String,
    /// Always `Group`.
    pub scope: String,
    /// The group's internal id, as text.
    pub item_id: String,
    /// `{changes: [{type, action, field, before, after}], trigger, name, short_id, type}`.
    pub detail: Map<String, Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A page of activity, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    pub results: Vec<ActivityEntry>,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub total_count: u64,
}

/// A name (or value as text) and how many groups have it.
#[derive(Serialize, ToSchema)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

/// Property names per group type index (the keys are the indexes as text).
#[derive(Serialize, ToSchema)]
pub struct PropertyNamesByType(pub std::collections::BTreeMap<String, Vec<NameCount>>);

/// The values of one property, most common first (at most 20).
#[derive(Serialize, ToSchema)]
pub struct PropertyValues {
    pub results: Vec<NameCount>,
    /// Always false.
    pub refreshing: bool,
}

/// One typed property definition.
#[derive(Serialize, ToSchema)]
pub struct PropertyDefinition {
    /// Stable, opaque.
    pub id: String,
    pub name: String,
    /// `Boolean`, `Numeric`, `DateTime` or `String`.
    pub property_type: String,
    pub is_numerical: bool,
    /// 3 (group properties).
    #[serde(rename = "type")]
    pub kind: i64,
    pub group_type_index: i64,
}

/// A page of property definitions, names ascending.
#[derive(Serialize, ToSchema)]
pub struct PropertyDefinitionPage {
    /// Every match, over all pages.
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<PropertyDefinition>,
}

/// An actor of `groups/related`: a distinct_id standing in for a person, or a group.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RelatedActor {
    Person(RelatedPerson),
    Group(RelatedGroup),
}

/// A distinct_id seen with the group.
#[derive(Serialize, ToSchema)]
pub struct RelatedPerson {
    /// `person`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub uuid: String,
    pub distinct_ids: Vec<String>,
    pub name: String,
    pub properties: Map<String, Value>,
    pub is_identified: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_seen_at: String,
    pub matched_recordings: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    pub value_at_data_point: Option<Value>,
}

/// A group of another type seen on the same events.
#[derive(Serialize, ToSchema)]
pub struct RelatedGroup {
    /// `group`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub group_key: String,
    pub group_type_index: i64,
    pub properties: Map<String, Value>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub matched_recordings: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    pub value_at_data_point: Option<Value>,
}

/// Where a change came from: `{"kind": "capture", "event_uuid": …}`, `{"kind": "api",
/// "key_label": …}` or `{"kind": "import"}`.
#[derive(Serialize, ToSchema)]
pub struct ChangeSource {
    /// `capture`, `api` or `import`.
    pub kind: String,
    /// The event's uuid (capture).
    pub event_uuid: Option<String>,
    /// The key's label (api).
    pub key_label: Option<String>,
}

/// One version of a property.
#[derive(Serialize, ToSchema)]
pub struct PropertyVersion {
    pub property: String,
    /// `set` or `unset`.
    pub op: String,
    pub value: Value,
    pub previous_value: Value,
    #[schema(format = DateTime)]
    pub event_time: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub source: ChangeSource,
}

/// A page of property versions, newest first.
#[derive(Serialize, ToSchema)]
pub struct PropertyVersionPage {
    pub results: Vec<PropertyVersion>,
    /// The absolute URL of the next page, null on the last.
    pub next: Option<String>,
}

/// The body of `POST /groups/bulk_delete`.
#[derive(Serialize, ToSchema)]
pub struct BulkDelete {
    pub group_type_index: i64,
    /// 1 to 1000 keys (numbers are read as their text).
    pub group_keys: Vec<Value>,
}

/// What `bulk_delete` did.
#[derive(Serialize, ToSchema)]
pub struct BulkDeleted {
    pub deleted: Vec<String>,
    pub not_found: Vec<String>,
}

/// One change of a group in the change stream.
#[derive(Serialize, ToSchema)]
pub struct GroupChange {
    pub seq: i64,
    /// `created`, `updated` or `deleted`.
    pub kind: String,
    pub group_type_index: i64,
    pub group_type: String,
    pub group_key: String,
    /// Per property: `{"old": …, "new": …}`.
    pub changes: Map<String, Value>,
    #[schema(format = DateTime)]
    pub event_time: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub source: ChangeSource,
}

/// A page of the change stream.
#[derive(Serialize, ToSchema)]
pub struct ChangePage {
    pub results: Vec<GroupChange>,
    /// The `since` of the next request.
    pub next_since: i64,
    /// The newest change's seq.
    pub head: i64,
}

/// One line of an export (and a line `import` takes).
#[derive(Serialize, ToSchema)]
pub struct ExportLine {
    pub group_type: String,
    pub group_type_index: i64,
    pub group_key: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub properties: Map<String, Value>,
}

/// One line of an import: an export line, or a change line.
#[derive(Serialize, ToSchema)]
pub struct ImportLine {
    /// The type's name; created when new.
    pub group_type: String,
    pub group_key: String,
    /// Export lines: set at `timestamp` (or now).
    pub properties: Option<Map<String, Value>>,
    /// Export lines: the group's creation time when it is new.
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    /// Export lines: ignored (the type is named by `group_type`).
    pub group_type_index: Option<i64>,
    #[serde(rename = "$set")]
    pub set: Option<Map<String, Value>>,
    #[serde(rename = "$set_once")]
    pub set_once: Option<Map<String, Value>>,
    #[serde(rename = "$unset")]
    pub unset: Option<Vec<String>>,
    /// The line's event time; missing = now.
    #[schema(format = DateTime)]
    pub timestamp: Option<String>,
}

/// A line an import refused.
#[derive(Serialize, ToSchema)]
pub struct ImportFailure {
    /// From 1.
    pub line: u64,
    /// As given (`""` when none could be read).
    pub group_key: String,
    /// The field at fault; null = the line as a whole.
    pub attr: Option<String>,
    pub detail: String,
}

/// What an import did (or, with `dry_run`, would do).
#[derive(Serialize, ToSchema)]
pub struct ImportAnswer {
    pub imported: u64,
    pub failed: Vec<ImportFailure>,
    pub dry_run: bool,
}

/// A group type.
#[derive(Serialize, ToSchema)]
pub struct GroupType {
    pub group_type_index: i64,
    /// The name capture uses, e.g. `company`.
    pub group_type: String,
    pub name_singular: Option<String>,
    pub name_plural: Option<String>,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub detail_dashboard: Option<Value>,
    pub default_columns: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The body of `POST /groups_types/`.
#[derive(Serialize, ToSchema)]
pub struct NewGroupType {
    pub group_type: String,
    pub name_singular: Option<String>,
    pub name_plural: Option<String>,
}

/// One entry of `PATCH /groups_types/update_metadata`'s array.
#[derive(Serialize, ToSchema)]
pub struct GroupTypeNames {
    pub group_type_index: i64,
    /// At most 400 characters.
    pub name_singular: Option<String>,
    /// At most 400 characters.
    pub name_plural: Option<String>,
}

/// The body of `PUT /groups_types/set_default_columns`.
#[derive(Serialize, ToSchema)]
pub struct DefaultColumns {
    pub group_type_index: i64,
    pub default_columns: Vec<String>,
}

/// A project.
#[derive(Serialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    /// The public token SDKs send with events.
    pub api_token: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The projects a key may access, by id.
#[derive(Serialize, ToSchema)]
pub struct ProjectPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<Project>,
}

/// The body of `POST /api/projects/`.
#[derive(Serialize, ToSchema)]
pub struct NewProject {
    pub name: String,
}

/// The body of `PATCH /api/projects/{project_id}/`.
#[derive(Serialize, ToSchema)]
pub struct ProjectUpdate {
    pub name: Option<String>,
}

/// One ingestion warning.
#[derive(Serialize, ToSchema)]
pub struct IngestionWarning {
    /// What went wrong, e.g. `group_key_too_long`.
    #[serde(rename = "type")]
    pub kind: String,
    pub details: Map<String, Value>,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// The project's recent ingestion warnings, newest first.
#[derive(Serialize, ToSchema)]
pub struct IngestionWarnings {
    pub results: Vec<IngestionWarning>,
}

/// The `query` of `POST /query/`.
#[derive(Serialize, ToSchema)]
pub struct QueryKind {
    /// `HogQLQuery` or `UsageMetricsQuery`.
    pub kind: String,
    /// HogQLQuery: the HogQL text.
    pub query: Option<String>,
    /// UsageMetricsQuery: the group's type.
    pub group_type_index: Option<i64>,
    /// UsageMetricsQuery: the group's key.
    pub group_key: Option<String>,
}

/// The body of `POST /query/`.
#[derive(Serialize, ToSchema)]
pub struct QueryRequest {
    pub query: QueryKind,
}

/// What `POST /query/` answers: a HogQL result, or a group's usage metric values.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum QueryAnswer {
    HogQl(HogQlAnswer),
    UsageMetrics(UsageMetricValues),
}

/// A HogQL query's result.
#[derive(Serialize, ToSchema)]
pub struct HogQlAnswer {
    pub columns: Vec<String>,
    /// `[name, type]` per column.
    pub types: Vec<Vec<String>>,
    /// One array per row.
    pub results: Vec<Vec<Value>>,
    /// The query as run, normalised.
    pub hogql: String,
    #[serde(rename = "hasMore")]
    pub has_more: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub is_cached: bool,
}

/// A group's usage metric values (`UsageMetricsQuery`).
#[derive(Serialize, ToSchema)]
pub struct UsageMetricValues {
    pub results: Vec<UsageMetricValue>,
}

/// One metric's value for a group.
#[derive(Serialize, ToSchema)]
pub struct UsageMetricValue {
    pub id: String,
    pub name: String,
    pub format: String,
    pub display: String,
    pub interval: i64,
    pub value: f64,
    pub previous: f64,
    pub change_from_previous_pct: Option<f64>,
    /// Sparklines only: one value per UTC day.
    pub timeseries: Option<Vec<f64>>,
    pub timeseries_labels: Option<Vec<String>>,
}

/// A usage metric.
#[derive(Serialize, ToSchema)]
pub struct UsageMetric {
    pub id: String,
    pub name: String,
    /// `numeric` or `currency`.
    pub format: String,
    /// Days, 1–365.
    pub interval: i64,
    /// `number` or `sparkline`.
    pub display: String,
    /// `{"events": [{"id", "properties"}], "properties": [filter, …]}`.
    pub filters: Map<String, Value>,
    /// `count` or `sum`.
    pub math: String,
    pub math_property: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A page of usage metrics.
#[derive(Serialize, ToSchema)]
pub struct UsageMetricPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<UsageMetric>,
}

/// The body of `POST` and `PUT` on metrics (on `PATCH` every field is optional and the unsent
/// ones keep their stored value).
#[derive(Serialize, ToSchema)]
pub struct UsageMetricBody {
    /// At most 255 characters, unique per type.
    pub name: String,
    pub filters: Map<String, Value>,
    /// `numeric` (default) or `currency`.
    pub format: Option<String>,
    /// 1–365, default 7.
    pub interval: Option<i64>,
    /// `number` (default) or `sparkline`.
    pub display: Option<String>,
    /// `count` (default) or `sum`.
    pub math: Option<String>,
    /// Required with `sum`, empty with `count`.
    pub math_property: Option<String>,
}

/// The body of `PATCH` on a metric: only the fields to change.
#[derive(Serialize, ToSchema)]
pub struct UsageMetricPatch {
    pub name: Option<String>,
    pub filters: Option<Map<String, Value>>,
    pub format: Option<String>,
    pub interval: Option<i64>,
    pub display: Option<String>,
    pub math: Option<String>,
    pub math_property: Option<String>,
}

/// A personal API key, without its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiKey {
    pub id: i64,
    pub label: String,
    pub scopes: Vec<String>,
    /// The projects it is limited to; null = every project.
    pub scoped_teams: Option<Vec<i64>>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// The key with all but its ends masked.
    pub mask_value: String,
}

/// A new key, with its secret (shown only here).
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The key itself, `phx_…`.
    pub value: String,
}

/// The body of `POST /api/personal_api_keys/`.
#[derive(Serialize, ToSchema)]
pub struct NewApiKey {
    pub label: String,
    /// At most the creating key's own scopes.
    pub scopes: Vec<String>,
    /// Limit to these projects; null or absent = every project (the creating key's own limit
    /// applies).
    pub scoped_teams: Option<Vec<i64>>,
}

/// An object with only an id.
#[derive(Serialize, ToSchema)]
pub struct IdRef {
    pub id: Value,
}

/// The calling key, as PostHog's current user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    /// The key's label.
    pub first_name: String,
    pub email: Option<String>,
    /// The `@current` project, null when the key may access none.
    pub team: Option<IdRef>,
    pub organization: IdRef,
}

/// One captured event.
#[derive(Serialize, ToSchema)]
pub struct CaptureEvent {
    /// Non-empty; `$groupidentify` creates or changes a group.
    pub event: String,
    /// Also `$distinct_id` or `properties.distinct_id`; at most 200 characters.
    pub distinct_id: Option<Value>,
    /// `$groups` (`{"company": "acme"}`) names the event's groups; on `$groupidentify`
    /// `$group_type`, `$group_key` and `$group_set` change one.
    pub properties: Option<Map<String, Value>>,
    pub uuid: Option<String>,
    #[schema(format = DateTime)]
    pub timestamp: Option<String>,
    /// Milliseconds before `received_at`, when there is no `timestamp`.
    pub offset: Option<i64>,
    /// The project token (also `token`, `$token` or `properties.token`).
    pub api_key: Option<String>,
}

/// A batch of events under one project token.
#[derive(Serialize, ToSchema)]
pub struct CaptureBatch {
    /// The project token (also `token`).
    pub api_key: Option<String>,
    pub batch: Vec<CaptureEvent>,
    /// Corrects clock skew (also `sentAt`).
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    pub historical_migration: Option<bool>,
}

/// A capture payload (after `data`, form and compression decoding).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum CapturePayload {
    Batch(CaptureBatch),
    Events(Vec<CaptureEvent>),
    Event(CaptureEvent),
}

/// Capture's answer once the events are committed.
#[derive(Serialize, ToSchema)]
pub struct CaptureAnswer {
    /// 1.
    pub status: i64,
}

/// `/_health`'s answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `degraded` or `unavailable`.
    pub status: String,
    /// Why, when not `ok`.
    pub reason: Option<String>,
}
