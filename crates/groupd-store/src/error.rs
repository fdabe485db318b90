//! Backend-neutral store failures. Each backend's `error.rs` maps its driver's errors into these;
//! the HTTP layer decides their statuses.
use groupd_core::{GroupTypeIndex, groups::Refusal};

/// Backend-neutral store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("not found")]
    NotFound,
    /// A group was addressed under a type index the project does not have.
    #[error("group type {0} does not exist")]
    GroupTypeMissing(GroupTypeIndex),
    /// A group with this key already exists for the type.
    #[error("group already exists")]
    GroupExists,
    /// A group type with this name already exists.
    #[error("group type already exists")]
    GroupTypeExists,
    /// The project already holds `max_group_types` types.
    #[error("group type limit {0} reached")]
    GroupTypeLimit(u32),
    /// An unset of a property the group lacks.
    #[error("property {0} missing")]
    PropertyMissing(String),
    /// A unique value is already taken.
    #[error("{0} already exists")]
    Conflict(ConflictOn),
    /// A query ran past its time limit and was cancelled.
    #[error("query timed out")]
    QueryTimeout,
    /// The database refused a (translated) query for a reason of the query's own.
    #[error("query failed: {0}")]
    QueryFailed(String),
    /// The store cannot take the work now (write queue full, no connection free, the database
    /// locked by another process); the caller should retry shortly.
    #[error("store busy")]
    Busy,
    /// The database cannot be reached, or stopped answering; the caller should retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refuses writes: its disk is full or it is read-only. Reads still work;
    /// writes resume by themselves once there is room.
    #[error("database refuses writes: {0}")]
    StorageFull(String),
    /// Bad configuration (e.g. an unsupported URL).
    #[error("{0}")]
    Config(String),
    /// Anything else: logged with its cause chain, answered as a generic server error.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Which unique value a [`StoreError::Conflict`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictOn {
    /// A project's public token.
    ApiToken,
    /// A usage metric's name within its group type.
    MetricName,
}

impl std::fmt::Display for ConflictOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConflictOn::ApiToken => "project token",
            ConflictOn::MetricName => "usage metric name",
        })
    }
}

impl From<Refusal> for StoreError {
    /// The store's answer to an edit the group rule refused.
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::GroupExists => StoreError::GroupExists,
            // A deleted group is, to the API, a group that does not exist.
            Refusal::GroupMissing | Refusal::GroupDeleted { .. } => StoreError::NotFound,
            Refusal::PropertyMissing(p) => StoreError::PropertyMissing(p),
            // No store method takes a patch yet.
            Refusal::SetAndUnset(p) => {
                StoreError::Internal(anyhow::anyhow!("a patch both sets and unsets {p}"))
            }
        }
    }
}

/// Wraps a driver or codec error as `Internal`, keeping it as the source of `context` (so the log
/// shows the whole chain).
pub(crate) fn internal<E>(context: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| StoreError::Internal(anyhow::Error::new(e).context(context))
}
