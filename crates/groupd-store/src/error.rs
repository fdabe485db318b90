use groupd_core::GroupTypeIndex;

/// Backend-neutral store failures. Each backend maps its driver's errors into these; the HTTP layer
/// maps these to statuses.
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
    /// `delete_property` of a property the group lacks.
    #[error("property {0} missing")]
    PropertyMissing(String),
    /// A unique value (e.g. a project token) is already taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A query ran past its time limit and was cancelled.
    #[error("query timed out")]
    QueryTimeout,
    /// The database refused a (translated) query for a reason of the query's own.
    #[error("query failed: {0}")]
    QueryFailed(String),
    /// The write queue is full; the caller should retry later.
    #[error("store busy")]
    Busy,
    /// Bad configuration (e.g. an unsupported URL).
    #[error("{0}")]
    Config(String),
    /// Anything else: logged with its cause, answered as a generic 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}
