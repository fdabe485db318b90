//! Storage behind one [`Store`] trait, with an embedded SQLite backend (the zero-config default)
//! and, later, PostgreSQL. Driver types never leave their backend module: callers see only the
//! neutral [`model`] types and [`StoreError`].
//!
//! Invariants every backend keeps:
//! - a write returns only after it is committed durably (a `kill -9` loses nothing answered);
//! - every read reflects every write already returned, from any process sharing the database;
//! - all SQL is parameterised; personal API keys exist only as SHA-256 digests.
#![warn(missing_docs)]

mod error;
pub mod model;
pub mod postgres;
pub mod sqlite;

#[cfg(any(test, feature = "testsuite"))]
pub mod conformance;

use std::sync::Arc;

use async_trait::async_trait;
use groupd_core::{
    Actor, GroupKey, GroupTypeIndex, ProjectId, SecretDigest, capture::CaptureEvent, merge::PropOp,
};

pub use error::StoreError;
pub use model::*;

/// Result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything groupd persists. One implementation per backend; one conformance suite for all.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database does.
    async fn health(&self) -> StoreResult<()>;

    /// Creates a project with `api_token`, or a fresh public token when `None`. A token already
    /// in use fails with `Conflict`.
    async fn create_project(
        &self,
        name: &str,
        api_token: Option<&str>,
        now_us: i64,
    ) -> StoreResult<Project>;
    /// Every project, ordered by id.
    async fn list_projects(&self) -> StoreResult<Vec<Project>>;
    /// One project.
    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<Project>>;
    /// Renames a project; `None` when it does not exist.
    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Option<Project>>;
    /// The project whose public token this is.
    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>>;

    /// Stores a personal API key (its digest only). Fails with `NotFound` when a listed project
    /// does not exist.
    async fn create_api_key(&self, key: NewApiKey, now_us: i64) -> StoreResult<ApiKey>;
    /// The key with this digest, compared in constant time.
    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>>;

    /// The project's group types, ordered by index.
    async fn list_group_types(&self, project: ProjectId) -> StoreResult<Vec<GroupType>>;
    /// Creates a type at the smallest free index below `max_group_types`.
    async fn create_group_type(
        &self,
        project: ProjectId,
        new: NewGroupType,
        max_group_types: u32,
        now_us: i64,
    ) -> StoreResult<GroupType>;
    /// Applies name changes to several types, all or nothing; returns the full list.
    async fn update_group_type_metadata(
        &self,
        project: ProjectId,
        updates: Vec<GroupTypeMetadataUpdate>,
    ) -> StoreResult<Vec<GroupType>>;
    /// Sets a type's default columns.
    async fn set_default_columns(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        columns: Vec<String>,
    ) -> StoreResult<GroupType>;
    /// Deletes a type, its groups and their activity in one transaction.
    async fn delete_group_type(&self, project: ProjectId, index: GroupTypeIndex)
    -> StoreResult<()>;

    /// One page of groups in list order (`created_at` desc, `group_key` desc).
    async fn list_groups(&self, project: ProjectId, q: GroupListQuery) -> StoreResult<Vec<Group>>;
    /// One group by exact key.
    async fn find_group(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        key: &GroupKey,
    ) -> StoreResult<Option<Group>>;
    /// Creates a group with properties set at `now_us`, recording activity.
    async fn create_group(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        key: GroupKey,
        properties: serde_json::Map<String, serde_json::Value>,
        actor: Actor,
        now_us: i64,
    ) -> StoreResult<Group>;
    /// Applies one property operation to an existing group through the merge rules, recording
    /// activity when the value changed. An `Unset` of an absent property fails with
    /// `PropertyMissing`.
    #[allow(clippy::too_many_arguments)] // the group's address, the change, who and when
    async fn update_group_property(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        key: GroupKey,
        property: String,
        op: PropOp,
        actor: Actor,
        now_us: i64,
    ) -> StoreResult<Group>;
    /// One page of a group's activity, newest first, and the total count.
    async fn group_activity(
        &self,
        project: ProjectId,
        group_id: i64,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(Vec<ActivityEntry>, u64)>;
    /// Property names per type with the number of groups holding each.
    async fn property_definitions(&self, project: ProjectId) -> StoreResult<Vec<PropertyCount>>;
    /// Up to 20 distinct values of one property with their group counts.
    async fn property_values(
        &self,
        project: ProjectId,
        index: GroupTypeIndex,
        property: &str,
        value_contains: Option<&str>,
    ) -> StoreResult<Vec<ValueCount>>;

    /// Stores one capture request's validated events and applies the group changes they cause,
    /// in one transaction; events already stored (same uuid and client timestamp) are skipped.
    async fn ingest(
        &self,
        project: ProjectId,
        events: Vec<CaptureEvent>,
        max_group_types: u32,
        now_us: i64,
    ) -> StoreResult<IngestSummary>;
    /// The newest ingestion warnings of a project (at most `limit`).
    async fn ingestion_warnings(
        &self,
        project: ProjectId,
        limit: u32,
    ) -> StoreResult<Vec<IngestionWarning>>;

    /// The SQL dialect HogQL is translated to for this backend.
    fn dialect(&self) -> groupd_hogql::Dialect;
    /// Runs a translated, read-only HogQL query; rows of raw values in column order. Past
    /// `timeout` the database work is cancelled and `QueryTimeout` returned; a database error
    /// caused by the query itself (a bad cast, say) is `QueryFailed`.
    async fn run_query(
        &self,
        query: groupd_hogql::Translated,
        timeout: std::time::Duration,
    ) -> StoreResult<Vec<Vec<groupd_hogql::SqlValue>>>;

    /// Write jobs waiting to be committed (a gauge for `/metrics`).
    fn write_queue_depth(&self) -> usize {
        0
    }
}

/// Opens the store a database URL names (`sqlite://path`, `sqlite:///abs/path`,
/// `postgres://…` or `postgresql://…`), migrating it. A PostgreSQL database the server lacks is
/// created.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = sqlite::SqliteStore::open(path).await?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::open(url).await?;
        return Ok(Arc::new(store));
    }
    Err(StoreError::Config(format!(
        "unsupported database URL (expected sqlite://PATH or postgres://USER@HOST:PORT/DB): {}",
        redact_url(url)
    )))
}

/// The write queue length: `GROUPD_WRITE_QUEUE` when set to a positive integer, else `default`.
pub(crate) fn write_queue_len(default: usize) -> usize {
    std::env::var("GROUPD_WRITE_QUEUE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(default)
}

/// A database URL with any password removed, safe to log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
