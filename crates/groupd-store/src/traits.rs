//! What groupd persists, one trait per concern. Each backend implements every one of them, in a
//! file of the same name (`projects.rs`, `group_types.rs`, `groups.rs`, `ingest.rs`, `query.rs`,
//! `mod.rs` for health), and [`Store`] is all of them at once, so callers hold one
//! `Arc<dyn Store>`. One conformance suite holds both backends to the same behaviour.
use async_trait::async_trait;
use groupd_core::{GroupTypeIndex, ProjectId, SecretDigest};

use crate::{
    ActivityEntry, ActivityPage, ApiKey, Change, EventsSnapshot, Group, GroupListQuery, GroupRef,
    GroupType, GroupTypeMetadataUpdate, IngestBatch, IngestSummary, IngestionWarning, NewApiKey,
    NewGroup, NewGroupType, NewProject, Project, PropertyCount, PropertyEdit, StoreResult, TypeRef,
    ValueCount, ValuesQuery,
};

/// Projects and the personal API keys that act on them.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates a project with its token, or a fresh public token when it has none. A token
    /// already in use fails with `Conflict(ApiToken)`.
    async fn create_project(&self, new: NewProject, now_us: i64) -> StoreResult<Project>;
    /// Every project, ordered by id.
    async fn list_projects(&self) -> StoreResult<Vec<Project>>;
    /// One project.
    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<Project>>;
    /// Renames a project; `None` when it does not exist.
    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Option<Project>>;
    /// The project whose public token this is (any text: one that is no token finds nothing).
    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>>;
    /// Stores a personal API key (its digest only). Fails with `NotFound` when a listed project
    /// does not exist.
    async fn create_api_key(&self, key: NewApiKey, now_us: i64) -> StoreResult<ApiKey>;
    /// The key with this digest, compared in constant time.
    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>>;
}

/// A project's catalogue of group types.
#[async_trait]
pub trait GroupTypeStore: Send + Sync {
    /// The project's group types, ordered by index.
    async fn list_group_types(&self, project: ProjectId) -> StoreResult<Vec<GroupType>>;
    /// Creates a type at the smallest free index below the project's limit: `GroupTypeExists`
    /// for a name taken, `GroupTypeLimit` when no index is free.
    async fn create_group_type(&self, new: NewGroupType, now_us: i64) -> StoreResult<GroupType>;
    /// Applies name changes to several types, all or nothing; returns the full list.
    async fn update_group_type_metadata(
        &self,
        project: ProjectId,
        updates: Vec<GroupTypeMetadataUpdate>,
    ) -> StoreResult<Vec<GroupType>>;
    /// Sets a type's default columns; `NotFound` for a type the project lacks.
    async fn set_default_columns(&self, t: TypeRef, columns: Vec<String>)
    -> StoreResult<GroupType>;
    /// Deletes a type, its groups and their activity in one transaction.
    async fn delete_group_type(&self, project: ProjectId, index: GroupTypeIndex)
    -> StoreResult<()>;
}

/// Groups, their activity log, and the property counts read from them.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// One page of groups in list order (`created_at` desc, `group_key` desc).
    async fn list_groups(&self, project: ProjectId, q: GroupListQuery) -> StoreResult<Vec<Group>>;
    /// One group by exact key.
    async fn find_group(&self, group: &GroupRef) -> StoreResult<Option<Group>>;
    /// Creates a group with properties set at `change.at_us`, recording activity. Fails with
    /// `GroupTypeMissing` for a type the project lacks, `GroupExists` for a key taken.
    async fn create_group(&self, new: NewGroup, change: Change) -> StoreResult<Group>;
    /// Applies one property operation to an existing group through the group rule, recording
    /// activity when the value changed. `NotFound` for a group that does not exist; an `Unset`
    /// of an absent property fails with `PropertyMissing`.
    async fn update_group_property(&self, edit: PropertyEdit, change: Change)
    -> StoreResult<Group>;
    /// One page of a group's activity, newest first, and the total count.
    async fn group_activity(
        &self,
        project: ProjectId,
        page: ActivityPage,
    ) -> StoreResult<(Vec<ActivityEntry>, u64)>;
    /// Property names per type with the number of groups holding each.
    async fn property_definitions(&self, project: ProjectId) -> StoreResult<Vec<PropertyCount>>;
    /// Up to 20 distinct values of one property with their group counts, most common first.
    async fn property_values(
        &self,
        project: ProjectId,
        q: ValuesQuery,
    ) -> StoreResult<Vec<ValueCount>>;
}

/// Capture: events, the group changes they cause, and the warnings they leave.
#[async_trait]
pub trait IngestStore: Send + Sync {
    /// Stores one capture request's validated events and applies the group changes they cause,
    /// in one transaction; events already stored (same uuid and client timestamp) are skipped.
    async fn ingest(&self, project: ProjectId, batch: IngestBatch) -> StoreResult<IngestSummary>;
    /// The newest ingestion warnings of a project (at most `limit`).
    async fn ingestion_warnings(
        &self,
        project: ProjectId,
        limit: u32,
    ) -> StoreResult<Vec<IngestionWarning>>;
}

/// The rows the analytics engine reads besides events: the `groups` table of HogQL.
#[async_trait]
pub trait QueryStore: Send + Sync {
    /// Every current group of the project (all types), for one query's `groups` table.
    async fn query_groups(&self, project: ProjectId) -> StoreResult<Vec<Group>>;
}

/// The analytics engine's reads.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The project's live segments and hot tail, optionally only what may hold events with
    /// `timestamp >= since_us` (a pruning hint: returning more is correct, less is not).
    async fn events_snapshot(
        &self,
        project: ProjectId,
        since_us: Option<i64>,
    ) -> StoreResult<EventsSnapshot>;
}

/// What `/health` and `/metrics` read.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Answers when the database does.
    async fn health(&self) -> StoreResult<()>;
    /// Write jobs waiting to be committed (a gauge for `/metrics`).
    fn write_queue_depth(&self) -> usize;
}

/// Everything groupd persists.
pub trait Store:
    ProjectStore
    + GroupTypeStore
    + GroupStore
    + IngestStore
    + QueryStore
    + AnalyticsStore
    + HealthStore
    + 'static
{
}

impl<T> Store for T where
    T: ProjectStore
        + GroupTypeStore
        + GroupStore
        + IngestStore
        + QueryStore
        + AnalyticsStore
        + HealthStore
        + 'static
{
}
