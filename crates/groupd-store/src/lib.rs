//! Storage behind the [`Store`] traits, with an embedded SQLite backend (the zero-config default)
//! and a PostgreSQL backend for several `groupd serve` processes on one database. Driver types
//! never leave their backend module: callers see only the neutral [`model`] types and
//! [`StoreError`]. Both backends keep the same file names for the same job, and the group-change
//! rule itself is not here but in `groupd_core::groups`: a backend loads a group, applies the
//! rule, and stores what it returns.
//!
//! Invariants every backend keeps:
//! - a write returns only after it is committed durably (a `kill -9` loses nothing answered);
//! - every read reflects every write already returned, from any process sharing the database;
//! - all SQL is parameterised; personal API keys exist only as SHA-256 digests.
#![warn(missing_docs)]

mod common;
mod error;
pub mod exchange;
pub mod lifecycle;
pub mod model;
mod options;
pub mod postgres;
mod queue;
pub mod sqlite;
mod traits;
pub mod usage;

#[cfg(any(test, feature = "testsuite"))]
pub mod conformance;

use std::sync::Arc;

pub(crate) use common::{new_type_index, stored_scopes, to_json_text};
pub use error::{ConflictOn, StoreError};
pub use lifecycle::{
    ChangeKind, ChangePage, ChangesQuery, DeletionOutcome, GroupChange, GroupDeletion, GroupPatch,
    HistoryQuery, PropertyVersion, VersionOp,
};
pub use model::*;
pub use options::StoreOptions;
pub use traits::{
    AnalyticsStore, BackupStore, ChangeStore, CompactorLock, ExchangeStore, GroupStore,
    GroupTypeStore, HealthStore, IngestStore, LifecycleStore, ProjectStore, QueryStore,
    SegmentStore, SessionStore, Store, UsageStore,
};
pub use usage::*;

/// Result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store a database URL names (`sqlite://path`, `sqlite:///abs/path`,
/// `postgres://…` or `postgresql://…`), migrating it. A PostgreSQL database the server lacks is
/// created.
pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = sqlite::SqliteStore::open(path, options).await?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::PgStore::open(url, options).await?;
        return Ok(Arc::new(store));
    }
    Err(StoreError::Config(format!(
        "unsupported database URL (expected sqlite://PATH or postgres://USER@HOST:PORT/DB): {}",
        redact_url(url)
    )))
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
