//! tokio-postgres errors stop here. SQLSTATE decides: a unique violation becomes the neutral
//! conflict error of the operation (the caller names it), `57014 query_canceled` a query timeout,
//! deadlocks and serialization failures are retried by the caller, the rest is `Internal`.
use tokio_postgres::error::SqlState;

use crate::StoreError;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Internal(anyhow::Error::new(e).context("postgres"))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            // Every connection stayed busy: the caller should retry later (503).
            deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => {
                StoreError::Busy
            }
            e => StoreError::Internal(anyhow::Error::new(e).context("postgres pool")),
        }
    }
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
/// broke, or a serialization failure.
pub(super) fn is_retryable(e: &StoreError) -> bool {
    let StoreError::Internal(any) = e else {
        return false;
    };
    any.downcast_ref::<tokio_postgres::Error>()
        .and_then(sql_state)
        .is_some_and(|s| {
            *s == SqlState::T_R_DEADLOCK_DETECTED || *s == SqlState::T_R_SERIALIZATION_FAILURE
        })
}
