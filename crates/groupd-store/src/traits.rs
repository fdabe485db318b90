//! What groupd persists, one trait per concern. Each backend implements every one of them, in a
//! file of the same name (`projects.rs`, `group_types.rs`, `groups.rs`, `ingest.rs`, `query.rs`,
//! `mod.rs` for health), and [`Store`] is all of them at once, so callers hold one
//! `Arc<dyn Store>`. One conformance suite holds both backends to the same behaviour.
use async_trait::async_trait;
use groupd_core::{GroupTypeIndex, ProjectId, SecretDigest};

use crate::{
    ActivityEntry, ActivityPage, ApiKey, Change, ChangePage, ChangesQuery, DeletionOutcome,
    EventsSnapshot, Group, GroupDeletion, GroupListQuery, GroupPatch, GroupRef, GroupType,
    GroupTypeMetadataUpdate, HistoryQuery, HotPartition, IngestBatch, IngestSummary,
    IngestionWarning, MovingEvent, NewApiKey, NewGroup, NewGroupType, NewProject, NewSession,
    Partition, Project, PropertyCount, PropertyEdit, PropertyVersion, SegmentCommit, SegmentRef,
    StoreResult, TypeRef, UiSession, ValueCount, ValuesQuery,
    exchange::{ExportPages, ExportQuery, ImportBatch, ImportOutcome},
    usage::{EventWindow, TypedProperty, TypedPropertyQuery, UsageMetric, WindowEvent},
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
    /// The live (unrevoked) key with this digest, compared in constant time.
    async fn api_key_by_digest(&self, digest: &SecretDigest) -> StoreResult<Option<ApiKey>>;
    /// Every live key, newest first (PostHog's order).
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a live key; `false` when no live key has this id. Its digest stops
    /// authenticating at once (servers cache a key for at most a second).
    async fn revoke_api_key(&self, id: i64, now_us: i64) -> StoreResult<bool>;
    /// Records that the key was used at `minute_us` (a time truncated to the minute); a no-op
    /// when the stored time is as recent, so concurrent servers write at most once a minute.
    async fn touch_api_key(&self, id: i64, minute_us: i64) -> StoreResult<()>;
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
    /// Answers when the database does and accepts a write: `StorageFull` when it refuses
    /// writes (disk full), `Unavailable` or `Busy` when it cannot be reached in time.
    async fn health(&self) -> StoreResult<()>;
    /// Write jobs waiting to be committed (a gauge for `/metrics`).
    fn write_queue_depth(&self) -> usize;
}

/// The reads and records behind related groups, usage metrics and typed property definitions
/// (`usage.rs` of each backend).
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// A project's events in a time window, by the `(project, timestamp)` index, oldest first.
    async fn window_events(&self, w: EventWindow) -> StoreResult<Vec<WindowEvent>>;
    /// The indexes of the project whose type was ever deleted (ascending): a type now at such an
    /// index owns only the events not older than itself.
    async fn reused_type_indexes(&self, project: ProjectId) -> StoreResult<Vec<GroupTypeIndex>>;
    /// A type's usage metrics by `created_at` (then id).
    async fn list_usage_metrics(&self, t: TypeRef) -> StoreResult<Vec<UsageMetric>>;
    /// One metric of a type.
    async fn get_usage_metric(
        &self,
        t: TypeRef,
        id: uuid::Uuid,
    ) -> StoreResult<Option<UsageMetric>>;
    /// Stores a new metric; a name the type already has fails with `Conflict(MetricName)`.
    async fn create_usage_metric(&self, m: UsageMetric) -> StoreResult<UsageMetric>;
    /// Replaces a stored metric's fields (not its id, type or `created_at`): `NotFound`, or
    /// `Conflict(MetricName)`.
    async fn update_usage_metric(&self, m: UsageMetric) -> StoreResult<UsageMetric>;
    /// Deletes a metric: `NotFound` when the type has no such metric.
    async fn delete_usage_metric(&self, t: TypeRef, id: uuid::Uuid) -> StoreResult<()>;
    /// A page of a type's property names (held by at least one group) with their types, names
    /// ascending, and the number of names matching.
    async fn typed_properties(
        &self,
        project: ProjectId,
        q: TypedPropertyQuery,
    ) -> StoreResult<(Vec<TypedProperty>, u64)>;
}

/// Held by the one compactor (across processes); released explicitly, or by the process's end.
#[async_trait]
pub trait CompactorLock: Send + Sync {
    /// Gives the lock up.
    async fn release(self: Box<Self>);
}

/// The segment catalog's writes: what compaction moves from the row store into Parquet segments,
/// committed atomically, and the keys of moved events kept for deduplication.
#[async_trait]
pub trait SegmentStore: Send + Sync {
    /// Where segments live when no data dir is configured, and how the database records that
    /// choice: next to a SQLite file (recorded as `default`, so a copy of the file and its
    /// directory elsewhere still matches), `./groupd-segments` for PostgreSQL (recorded as the
    /// absolute path, so servers in other directories are told apart).
    fn default_data_dir(&self) -> (String, String);
    /// Records `data_dir` as the segment location when none is recorded yet; returns the one
    /// recorded (which differs from `data_dir` when the database was first used with another).
    async fn claim_data_dir(&self, data_dir: &str) -> StoreResult<String>;
    /// Becomes the only compactor, or `None` while another process (or task) is one.
    async fn try_lock_compactor(&self, now_us: i64) -> StoreResult<Option<Box<dyn CompactorLock>>>;
    /// The partitions with events in the row store received before `before_us`.
    async fn hot_partitions(&self, before_us: i64) -> StoreResult<Vec<HotPartition>>;
    /// Up to `limit` events of the partition received before `before_us`, by timestamp, none of
    /// them a duplicate of a moved event.
    async fn events_to_move(
        &self,
        partition: Partition,
        before_us: i64,
        limit: usize,
    ) -> StoreResult<Vec<MovingEvent>>;
    /// The live segments of one partition, oldest first.
    async fn partition_segments(&self, partition: Partition) -> StoreResult<Vec<SegmentRef>>;
    /// The partitions holding two or more live segments of fewer than `below_rows` events: the
    /// ones a merge can still shrink, whichever process wrote them.
    async fn fragmented_partitions(&self, below_rows: u64) -> StoreResult<Vec<Partition>>;
    /// The path of every live segment.
    async fn segment_paths(&self) -> StoreResult<Vec<String>>;
    /// In one transaction: lists the segment, removes the moved events from the row store and
    /// keeps their keys, and unlists the segments it replaces. When a moved event or a replaced
    /// segment is already gone, nothing changes and the result is `NotFound`.
    async fn commit_segment(&self, commit: SegmentCommit) -> StoreResult<SegmentRef>;
    /// Forgets the keys of moved events received before `before_us` (past the dedup window).
    async fn prune_moved_keys(&self, before_us: i64) -> StoreResult<u64>;
    /// Makes the space of events moved out of the row store reusable, once a run moved some: on
    /// PostgreSQL their dead rows would otherwise stay in every read of the hot tail until
    /// autovacuum came by (a minute or more). Nothing to do on SQLite, which frees rows in place.
    async fn reclaim_moved(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// NDJSON export and import of groups (`export.rs` and `import.rs` of each backend).
#[async_trait]
pub trait ExchangeStore: Send + Sync {
    /// Streams a type's groups from one snapshot, in pages of at most
    /// [`crate::exchange::EXPORT_PAGE`]; the snapshot is taken before this returns, so the
    /// export holds every write answered before the call.
    async fn export_groups(&self, q: ExportQuery) -> StoreResult<ExportPages>;
    /// Merges import lines by the capture rule, creating new types within the limit. Lines
    /// whose type does not fit fail; with `atomic` any failure writes nothing, without `write`
    /// nothing is written at all.
    async fn import_groups(&self, batch: ImportBatch) -> StoreResult<ImportOutcome>;
}

/// Online backups (`backup.rs` of each backend).
#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Writes a consistent copy of the whole database to the new file `dest` while writers
    /// go on; `Config` with what to use instead where the backend cannot (PostgreSQL).
    async fn backup_to(&self, dest: &std::path::Path) -> StoreResult<()>;
}

/// The group lifecycle beyond single-property edits (lifecycle.md): several properties at once,
/// deletion with its tombstone, property history and as-of reads (`lifecycle.rs` of each backend).
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// Sets and unsets several properties of an existing group, all or nothing: `NotFound`, or
    /// `PropertyMissing` for an unset of a property the group does not hold (nothing applied).
    async fn patch_group(&self, patch: GroupPatch, change: Change) -> StoreResult<Group>;
    /// Deletes groups of one type in one transaction: each row, its counts, search entries and
    /// history go; a tombstone at `change.at_us` refuses older writes; a `delete_group` activity
    /// entry and a `deleted` change are written per group.
    async fn delete_groups(&self, d: GroupDeletion, change: Change)
    -> StoreResult<DeletionOutcome>;
    /// The internal id whose activity the key shows: the live group's, else the deleted one's.
    async fn activity_group_id(&self, group: &GroupRef) -> StoreResult<Option<i64>>;
    /// The group as it was at event time `as_of` (µs): `None` when it did not exist then.
    async fn find_group_as_of(&self, group: &GroupRef, as_of: i64) -> StoreResult<Option<Group>>;
    /// A page of a live group's property versions, newest event time first (`None`: no group).
    async fn property_history(&self, q: HistoryQuery) -> StoreResult<Option<Vec<PropertyVersion>>>;
}

/// The change stream (`changes.rs` of each backend).
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// A page of a project's changes after `since`, with its head and oldest kept seq.
    async fn changes(&self, q: ChangesQuery) -> StoreResult<ChangePage>;
    /// Forgets changes recorded before `before_us`; returns how many went.
    async fn prune_changes(&self, before_us: i64) -> StoreResult<u64>;
    /// Bumped after every commit that may hold changes (this process's, and on PostgreSQL other
    /// processes' via NOTIFY): a wake-up hint for stream readers, who also poll.
    fn change_signal(&self) -> tokio::sync::watch::Receiver<u64>;
}

/// Web UI sign-in sessions: the browser holds a random id, the store only its digest and the
/// key it acts for, so every process sharing the database knows the session.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session, and forgets sessions idle since before `new.expire_before_us`.
    async fn create_session(&self, new: NewSession) -> StoreResult<()>;
    /// The session with this id digest, with its key, when the key is still live and the session
    /// was used at or after `idle_since_us`.
    async fn find_session(
        &self,
        digest: &SecretDigest,
        idle_since_us: i64,
    ) -> StoreResult<Option<UiSession>>;
    /// Records a use of the session at `now_us`.
    async fn touch_session(&self, digest: &SecretDigest, now_us: i64) -> StoreResult<()>;
    /// Ends the session (a no-op when it does not exist).
    async fn end_session(&self, digest: &SecretDigest) -> StoreResult<()>;
}

/// Everything groupd persists.
pub trait Store:
    ProjectStore
    + GroupTypeStore
    + GroupStore
    + IngestStore
    + QueryStore
    + HealthStore
    + UsageStore
    + AnalyticsStore
    + SegmentStore
    + ExchangeStore
    + BackupStore
    + LifecycleStore
    + ChangeStore
    + SessionStore
    + 'static
{
}

impl<T> Store for T where
    T: ProjectStore
        + GroupTypeStore
        + GroupStore
        + IngestStore
        + QueryStore
        + HealthStore
        + UsageStore
        + AnalyticsStore
        + SegmentStore
        + ExchangeStore
        + BackupStore
        + LifecycleStore
        + ChangeStore
        + SessionStore
        + 'static
{
}
