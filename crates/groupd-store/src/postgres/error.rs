//! tokio-postgres errors stop here. SQLSTATE decides: a unique violation becomes the neutral
//! conflict error of the operation (the caller names it), `57014 query_canceled` a query timeout,
//! deadlocks and serialization failures are retried by the caller, the rest is `Internal`.
use tokio_postgres::error::SqlState;

use crate::StoreError;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match fault(&e) {
            Some(Fault::Unavailable) => StoreError::Unavailable(pg_reason(&e)),
            Some(Fault::Full) => StoreError::StorageFull(pg_reason(&e)),
            None => StoreError::Internal(anyhow::Error::new(e).context("postgres")),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::{PoolError, TimeoutType};
        match e {
            // Every connection stayed busy: the caller should retry later (503).
            PoolError::Timeout(TimeoutType::Wait) => StoreError::Busy,
            // No new connection could be made, or an idle one was found broken, in time.
            PoolError::Timeout(TimeoutType::Create | TimeoutType::Recycle) => {
                StoreError::Unavailable("no connection to PostgreSQL in time".into())
            }
            PoolError::Backend(e) => e.into(),
            PoolError::Closed => StoreError::Unavailable("the connection pool is closed".into()),
            e => StoreError::Internal(anyhow::Error::new(e).context("postgres pool")),
        }
    }
}

/// A fault of the server rather than of the statement: retry later, don't report a bug.
enum Fault {
    /// Down, restarting, unreachable, or the connection broke: 503.
    Unavailable,
    /// Its disk is full, or it is read-only: 507.
    Full,
}

fn fault(e: &tokio_postgres::Error) -> Option<Fault> {
    if e.is_closed() {
        return Some(Fault::Unavailable);
    }
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (refused, reset, timed out).
        return std::error::Error::source(e)
            .is_some_and(|s| s.is::<std::io::Error>())
            .then_some(Fault::Unavailable);
    };
    let c = code.code();
    if *code == SqlState::DISK_FULL || *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        Some(Fault::Full)
    } else if c.starts_with("08") // connection exception
        || c.starts_with("53") // insufficient resources (too many connections, out of memory)
        || c.starts_with("57P")
    // admin / crash shutdown, cannot connect now
    {
        Some(Fault::Unavailable)
    } else {
        None
    }
}

/// The server's own words for a fault, for the log (never shown to the client).
fn pg_reason(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
}

/// The SQLSTATE of a database error, if it is one.
pub(super) fn sql_state(e: &tokio_postgres::Error) -> Option<&SqlState> {
    e.code()
}

/// True when `e` is a UNIQUE / PRIMARY KEY violation.
pub(super) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    sql_state(e) == Some(&SqlState::UNIQUE_VIOLATION)
}

/// True when a transaction that failed with `e` may simply be run again: a deadlock the server
/// broke, a serialization failure, or a group another transaction created first
/// ([`super::ingest::CreationRace`]).
pub(super) fn is_retryable(e: &StoreError) -> bool {
    let StoreError::Internal(any) = e else {
        return false;
    };
    if any.downcast_ref::<super::ingest::CreationRace>().is_some() {
        return true;
    }
    any.downcast_ref::<tokio_postgres::Error>()
        .and_then(sql_state)
        .is_some_and(|s| {
            *s == SqlState::T_R_DEADLOCK_DETECTED || *s == SqlState::T_R_SERIALIZATION_FAILURE
        })
}
