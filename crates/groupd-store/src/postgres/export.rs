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
    exchange::{EXPORT_PAGE, ExportPages, ExportQuery, ImportBatch, ImportOutcome},
};

/// Pages waiting for the HTTP body (or the CLI's writer).
const PAGES_BUFFERED: usize = 2;

async fn page(
    c: &impl GenericClient,
    q: &ExportQuery,
    after: Option<&str>,
) -> StoreResult<Vec<Group>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {GROUP_COLS} FROM groups
             WHERE project_id = $1 AND group_type_index = $2
               AND ($3::text IS NULL OR group_key > $3::text)
             ORDER BY group_key LIMIT $4"
        ))
        .await?;
    let index = i32::try_from(q.index.0).unwrap_or(i32::MAX);
    Ok(
        c.query(&st, &[&q.project.0, &index, &after, &(EXPORT_PAGE as i64)])
            .await?
            .iter()
            .map(group_from_row)
            .collect(),
    )
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
    let mut rows = match page(&t, &q, None).await {
        Ok(rows) => {
            let _ = ready.send(Ok(()));
            rows
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    loop {
        let last = rows.last().map(|g| g.key.as_str().to_owned());
        let full = rows.len() == EXPORT_PAGE;
        if !rows.is_empty() && tx.send(Ok(rows)).await.is_err() {
            break; // The reader went away.
        }
        let Some(after) = last.filter(|_| full) else {
            break;
        };
        rows = match page(&t, &q, Some(&after)).await {
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
        if q.as_of_us.is_some() {
            return Err(StoreError::Config(
                "as_of exports are not served yet".into(),
            ));
        }
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
