//! Every multi-statement write runs through [`run_with_tx!`]: one transaction on a pooled
//! connection that commits when its body returns `Ok` and rolls back when it returns `Err`, by
//! construction (as Quickwit's metastore does). A transaction the server aborts for a deadlock or a
//! serialization failure is run again whole, a few times ([`retrying!`] on its own does that for a
//! single statement, which is atomic without a transaction).
use std::time::Duration;

use deadpool_postgres::{GenericClient, Transaction};

use super::error::is_retryable;
use crate::{StoreError, StoreResult};

/// Attempts of work the server aborted for a deadlock or serialization failure.
const ATTEMPTS: u32 = 8;
/// Advisory lock namespace of group type assignment (the first key of
/// `pg_advisory_xact_lock(int, int)`).
const LOCK_GROUP_TYPES: i32 = 0x6770_0002;

/// Whether failed work should run again: retryable and attempts left.
pub(super) fn should_retry(e: &StoreError, attempt: u32) -> bool {
    attempt + 1 < ATTEMPTS && is_retryable(e)
}

/// Waits a little longer after each failed attempt.
pub(super) async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 7)).await;
}

/// Commits `tx` when `out` is `Ok`, rolls it back otherwise.
pub(super) async fn finish<T>(tx: Transaction<'_>, out: StoreResult<T>) -> StoreResult<T> {
    match out {
        Ok(v) => {
            tx.commit().await?;
            Ok(v)
        }
        Err(e) => {
            // The error is the answer; a failed rollback only means the connection is gone.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Evaluates `$body` (an expression awaiting a `StoreResult`) again while it fails with a
/// deadlock or serialization failure.
macro_rules! retrying {
    ($body:expr) => {{
        let mut attempt = 0u32;
        loop {
            match $body {
                Err(e) if $crate::postgres::tx::should_retry(&e, attempt) => {
                    attempt += 1;
                    $crate::postgres::tx::backoff(attempt).await;
                }
                other => break other,
            }
        }
    }};
}

/// `run_with_tx!(pool, |tx| body)`: `body` (awaiting a `StoreResult`, `tx` a transaction it may
/// borrow, mutably for savepoints) in one transaction, committed on `Ok`, rolled back on `Err`,
/// retried whole on a deadlock or serialization failure.
macro_rules! run_with_tx {
    ($pool:expr, |$tx:ident| $body:expr) => {
        $crate::postgres::tx::retrying!({
            let attempt: $crate::StoreResult<_> = async {
                let mut client = $pool.get().await?;
                #[allow(unused_mut)] // only a body that takes savepoints needs it
                let mut $tx = client.transaction().await?;
                let out = $body;
                $crate::postgres::tx::finish($tx, out).await
            }
            .await;
            attempt
        })
    };
}

pub(super) use {retrying, run_with_tx};

/// Serialises group type creation within one project until the transaction ends.
pub(super) async fn lock_group_types(c: &impl GenericClient, project: i64) -> StoreResult<()> {
    // The second key is 32 bits: fold the project id into it (a collision only serialises more).
    let key = (project ^ (project >> 32)) as i32;
    let st = c
        .prepare_cached("SELECT pg_advisory_xact_lock($1, $2)")
        .await?;
    c.execute(&st, &[&LOCK_GROUP_TYPES, &key]).await?;
    Ok(())
}
