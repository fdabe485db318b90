//! Running translated HogQL on a read connection, cancelled at its deadline through SQLite's
//! progress handler (the statement stops mid-scan, not after it).
use std::time::{Duration, Instant};

use groupd_hogql::{Param, SqlValue, Translated};
use rusqlite::{Connection, ErrorCode, types::ValueRef};

use crate::{StoreError, StoreResult};

/// Virtual-machine steps between deadline checks.
const CHECK_EVERY: i32 = 10_000;

pub(super) fn run(
    c: &mut Connection,
    q: &Translated,
    timeout: Duration,
) -> StoreResult<Vec<Vec<SqlValue>>> {
    let deadline = Instant::now() + timeout;
    c.progress_handler(CHECK_EVERY, Some(move || Instant::now() > deadline))?;
    let result = execute(c, q);
    // A pooled connection must not keep a stale deadline.
    c.progress_handler(CHECK_EVERY, None::<fn() -> bool>)?;
    result.map_err(|e| match e.sqlite_error_code() {
        Some(ErrorCode::OperationInterrupted) => StoreError::QueryTimeout,
        // Anything else SQLite refuses in a translated query is the query's own doing.
        _ => StoreError::QueryFailed(e.to_string()),
    })
}

fn execute(c: &Connection, q: &Translated) -> rusqlite::Result<Vec<Vec<SqlValue>>> {
    let mut st = c.prepare(&q.sql)?;
    let params: Vec<rusqlite::types::Value> = q
        .params
        .iter()
        .map(|p| match p {
            Param::Null => rusqlite::types::Value::Null,
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
            Param::Float(f) => rusqlite::types::Value::Real(*f),
            Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
        })
        .collect();
    let n = st.column_count();
    let mut rows = st.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(match row.get_ref(i)? {
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(v) => SqlValue::Int(v),
                ValueRef::Real(v) => SqlValue::Float(v),
                ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
            });
        }
        out.push(vals);
    }
    Ok(out)
}
