//! rusqlite errors stop here: a database another process holds locked past the busy timeout is
//! `Busy` (retry shortly), constraint violations are told apart by the callers, the rest is
//! `Internal` with its cause.
use rusqlite::ErrorCode;

use crate::StoreError;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if is_busy(&e) {
            return StoreError::Busy;
        }
        if refuses_writes(&e) {
            return StoreError::StorageFull(e.to_string());
        }
        StoreError::Internal(anyhow::Error::new(e).context("sqlite"))
    }
}

/// True when the database stayed locked by another connection (`SQLITE_BUSY`, `SQLITE_LOCKED`).
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// True when the database cannot take writes now but may later: its disk is full
/// (`SQLITE_FULL`, an I/O error writing) or it is read-only.
pub(super) fn refuses_writes(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DiskFull | ErrorCode::ReadOnly | ErrorCode::SystemIoFailure)
    )
}

/// True when `e` is a UNIQUE/PRIMARY KEY violation.
pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write while another connection holds the write lock past the busy timeout is `Busy`.
    #[test]
    fn a_locked_database_is_busy_not_internal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.db");
        let a = rusqlite::Connection::open(&path).unwrap();
        a.execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        let b = rusqlite::Connection::open(&path).unwrap();
        b.busy_timeout(std::time::Duration::from_millis(10))
            .unwrap();
        let e = b.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Busy));
        let e = b.execute("INSERT INTO nowhere VALUES (2)", []).unwrap_err();
        assert!(matches!(StoreError::from(e), StoreError::Internal(_)));
    }
}
