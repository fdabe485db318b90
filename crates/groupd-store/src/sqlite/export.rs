//! Export on SQLite: a connection of its own (the read pool stays free for requests) holds one
//! read transaction, so every page comes from the same snapshot, and walks the type's groups by
//! key (the unique index) a page at a time into a bounded channel: memory stays at a couple of
//! pages however many groups there are, and a client that stops reading stops the walk.
use async_trait::async_trait;
use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

use super::{
    SqliteStore, migrate,
    rows::{GROUP_COLS, group_from_row},
};
use crate::{
    ExchangeStore, Group, StoreError, StoreResult,
    exchange::{EXPORT_PAGE, ExportPages, ExportQuery, ImportBatch, ImportOutcome, next_after},
};

/// Pages waiting for the HTTP body (or the CLI's writer).
const PAGES_BUFFERED: usize = 2;

/// A page of the export (as of `q.as_of_us` when set), and the key to go on after (`None`: it was
/// the last page).
fn page(
    c: &Connection,
    q: &ExportQuery,
    after: Option<&str>,
) -> StoreResult<(Vec<Group>, Option<String>)> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {GROUP_COLS} FROM groups
         WHERE project_id = ?1 AND group_type_index = ?2 AND (?3 IS NULL OR group_key > ?3)
         ORDER BY group_key LIMIT ?4"
    ))?;
    let rows = st
        .query_map(
            params![q.project.0, q.index.0, after, EXPORT_PAGE as i64],
            group_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next = next_after(&rows);
    let rows = match q.as_of_us {
        Some(at) => super::lifecycle::list_as_of(c, rows, at)?,
        None => rows,
    };
    Ok((rows, next))
}

/// Runs the export on the calling (blocking) thread: `ready` hears once the snapshot is taken.
fn walk(
    c: &Connection,
    q: &ExportQuery,
    ready: oneshot::Sender<StoreResult<()>>,
    tx: &mpsc::Sender<StoreResult<Vec<Group>>>,
) {
    // The snapshot starts at the first read inside the transaction.
    let first = c
        .execute_batch("BEGIN DEFERRED")
        .map_err(StoreError::from)
        .and_then(|()| page(c, q, None));
    let (mut rows, mut next) = match first {
        Ok(page) => {
            let _ = ready.send(Ok(()));
            page
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    loop {
        if !rows.is_empty() && tx.blocking_send(Ok(rows)).is_err() {
            break; // The reader went away.
        }
        let Some(after) = next else {
            break;
        };
        (rows, next) = match page(c, q, Some(&after)) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                break;
            }
        };
    }
    let _ = c.execute_batch("COMMIT");
}

#[async_trait]
impl ExchangeStore for SqliteStore {
    async fn export_groups(&self, q: ExportQuery) -> StoreResult<ExportPages> {
        let path = self.path.clone();
        let (tx, rx) = mpsc::channel(PAGES_BUFFERED);
        let (ready, started) = oneshot::channel();
        tokio::task::spawn_blocking(move || match migrate::connect(&path) {
            Ok(c) => walk(&c, &q, ready, &tx),
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        });
        started
            .await
            .map_err(|_| StoreError::Internal(anyhow::anyhow!("export task ended early")))??;
        Ok(rx)
    }

    async fn import_groups(&self, batch: ImportBatch) -> StoreResult<ImportOutcome> {
        super::import::import(self, batch).await
    }
}
