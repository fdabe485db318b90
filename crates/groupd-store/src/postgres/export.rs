//! Export on PostgreSQL: a pooled connection holds one `REPEATABLE READ READ ONLY` transaction, so
//! every page comes from the same snapshot, and walks the type's groups by primary key a page at
//! a time into a bounded channel: memory stays at a couple of pages however many groups there
//! are, and a client that stops reading stops the walk.
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::IsolationLevel;

use super::{
    PgStore,
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
async fn page(
    c: &impl GenericClient,
    q: &ExportQuery,
    after: Option<&str>,
) -> StoreResult<(Vec<Group>, Option<String>)> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {GROUP_COLS} FROM groups
             WHERE project_id = $1 AND group_type_index = $2
               AND ($3::text IS NULL OR group_key > $3::text)
             ORDER BY group_key LIMIT $4"
        ))
        .await?;
    let index = i32::try_from(q.index.0).unwrap_or(i32::MAX);
    let rows: Vec<Group> = c
        .query(&st, &[&q.project.0, &index, &after, &(EXPORT_PAGE as i64)])
        .await?
        .iter()
        .map(group_from_row)
        .collect();
    let next = next_after(&rows);
    let rows = match q.as_of_us {
        Some(at) => super::lifecycle::list_as_of(c, q.project, rows, at).await?,
        None => rows,
    };
    Ok((rows, next))
}

async fn walk(
    mut client: deadpool_postgres::Client,
    q: ExportQuery,
    ready: oneshot::Sender<StoreResult<()>>,
    tx: mpsc::Sender<StoreResult<Vec<Group>>>,
) {
    let snapshot = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await;
    let t = match snapshot {
        Ok(t) => t,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    // The snapshot is taken at the transaction's first query.
    let (mut rows, mut next) = match page(&t, &q, None).await {
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
        if !rows.is_empty() && tx.send(Ok(rows)).await.is_err() {
            break; // The reader went away.
        }
        let Some(after) = next else {
            break;
        };
        (rows, next) = match page(&t, &q, Some(&after)).await {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                break;
            }
        };
    }
    let _ = t.commit().await;
}

#[async_trait]
impl ExchangeStore for PgStore {
    async fn export_groups(&self, q: ExportQuery) -> StoreResult<ExportPages> {
        let client = self.client().await?;
        let (tx, rx) = mpsc::channel(PAGES_BUFFERED);
        let (ready, started) = oneshot::channel();
        tokio::spawn(walk(client, q, ready, tx));
        started
            .await
            .map_err(|_| StoreError::Internal(anyhow::anyhow!("export task ended early")))??;
        Ok(rx)
    }

    async fn import_groups(&self, batch: ImportBatch) -> StoreResult<ImportOutcome> {
        super::import::import(self, batch).await
    }
}
