//! Running translated HogQL on a read connection, cancelled at its deadline through SQLite's
//! progress handler (the statement stops mid-scan, not after it).
use std::time::{Duration, Instant};

use async_trait::async_trait;
use groupd_hogql::{Param, SqlValue, Translated};
use rusqlite::{
    Connection, ErrorCode,
    types::{Value, ValueRef},
};

use super::SqliteStore;
use crate::{QueryStore, StoreError, StoreResult};

/// Virtual-machine steps between deadline checks.
const CHECK_EVERY: i32 = 10_000;

fn run(c: &mut Connection, q: &Translated, timeout: Duration) -> StoreResult<Vec<Vec<SqlValue>>> {
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

/// A HogQL parameter as SQLite binds it.
fn bound(p: &Param) -> Value {
    match p {
        Param::Null => Value::Null,
        Param::Int(i) => Value::Integer(*i),
        Param::Float(f) => Value::Real(*f),
        Param::Text(s) => Value::Text(s.clone()),
    }
}

fn execute(c: &Connection, q: &Translated) -> rusqlite::Result<Vec<Vec<SqlValue>>> {
    let mut st = c.prepare(&q.sql)?;
    let params: Vec<Value> = q.params.iter().map(bound).collect();
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

#[async_trait]
impl QueryStore for SqliteStore {
    fn dialect(&self) -> groupd_hogql::Dialect {
        groupd_hogql::Dialect::Sqlite
    }

    async fn run_query(
        &self,
        query: Translated,
        timeout: Duration,
    ) -> StoreResult<Vec<Vec<SqlValue>>> {
        self.readers
            .read_mut(move |c| run(c, &query, timeout))
            .await
    }
}
