//! The capture writer for requests that change groups: one task per process takes the requests
//! waiting and commits them in one transaction (group commit), each in its own savepoint so one
//! request's failure never undoes another's. Requests that write the same hot groups then share one
//! lock hold and one WAL flush instead of queueing on the rows one commit at a time. A caller is
//! answered only after the COMMIT returned: an answered write is durable.
//!
//! The property count changes of the requests whose savepoints were kept are summed and applied
//! once, just before the COMMIT, in sorted order (see [`super::counts`]).
//!
//! A batch the server aborts (a deadlock with another process, a serialization failure) is run
//! again whole; nothing of it was committed.
use std::time::Instant;

use deadpool_postgres::{GenericClient, Pool, Transaction};
use groupd_core::{ProjectId, capture::CaptureEvent, groups::TypeAssigner};
use tokio::sync::{mpsc, oneshot};

use super::{
    changes::PendingChanges, counts::PropCounts, error::is_retryable, ingest, rows::type_names,
    tx::run_with_tx,
};
use crate::{IngestSource, IngestSummary, StoreError, StoreResult, queue};

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 64;

/// One request to ingest.
pub(super) struct Job {
    pub(super) project: ProjectId,
    /// Capture or import: the source of the group changes.
    pub(super) source: IngestSource,
    pub(super) events: Vec<CaptureEvent>,
    pub(super) max_group_types: u32,
    /// The project's types, when the caller loaded them already.
    pub(super) types: Option<TypeAssigner>,
    pub(super) now: i64,
}

struct Queued {
    job: Job,
    reply: oneshot::Sender<StoreResult<IngestSummary>>,
}

/// Handle to the writer task.
pub(super) struct Writer {
    tx: mpsc::Sender<Queued>,
}

impl Writer {
    /// Starts the writer task; at most `queue` requests wait before callers get `Busy`.
    pub(super) fn start(pool: Pool, queue: usize) -> Self {
        let (tx, rx) = mpsc::channel(queue);
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    /// Ingests one request in the next batch; returns once it is committed.
    pub(super) async fn ingest(&self, job: Job) -> StoreResult<IngestSummary> {
        let (reply, answer) = oneshot::channel();
        queue::enqueue(&self.tx, Queued { job, reply }, answer).await
    }

    /// Requests waiting for the writer.
    pub(super) fn queue_depth(&self) -> usize {
        queue::depth(&self.tx)
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let jobs: Vec<&mut Job> = batch.iter_mut().map(|q| &mut q.job).collect();
        let results = run_batch(&pool, jobs).await;
        metrics::histogram!("groupd_write_batch_size").record(batch.len() as f64);
        metrics::histogram!("groupd_write_commit_seconds").record(started.elapsed().as_secs_f64());
        for (q, r) in batch.drain(..).zip(results) {
            let _ = q.reply.send(r);
        }
    }
}

async fn run_batch(pool: &Pool, mut jobs: Vec<&mut Job>) -> Vec<StoreResult<IngestSummary>> {
    let n = jobs.len();
    match run_with_tx!(pool, |tx| batch_in(&mut tx, &mut jobs).await) {
        Ok(results) => results,
        // No connection freed up in time: the callers should retry later (503).
        Err(StoreError::Busy) => (0..n).map(|_| Err(StoreError::Busy)).collect(),
        Err(e) => {
            // The cause chain on one line.
            tracing::error!(error = %format_args!("{e:#}"), jobs = n, "write batch failed");
            let msg = format!("{e:#}");
            (0..n)
                .map(|_| {
                    Err(StoreError::Internal(anyhow::anyhow!(
                        "write batch failed: {msg}"
                    )))
                })
                .collect()
        }
    }
}

/// The batch in one transaction, each job in a savepoint; `Err` only for a failure of the whole
/// batch (the transaction is then rolled back, and retried when the server aborted it).
async fn batch_in(
    tx: &mut Transaction<'_>,
    jobs: &mut [&mut Job],
) -> StoreResult<Vec<StoreResult<IngestSummary>>> {
    let mut results = Vec::with_capacity(jobs.len());
    let mut counts = PropCounts::default();
    let mut pending = PendingChanges::default();
    let mut now = 0;
    for job in jobs.iter_mut() {
        let sp = tx.savepoint("job").await?;
        let mut deferred = ingest::Deferred::default();
        let ingested = ingest_job(&sp, job, &mut deferred).await;
        match ingested {
            Ok(summary) => {
                sp.commit().await?;
                counts.absorb(deferred.counts);
                pending.absorb(deferred.changes);
                now = now.max(job.now);
                results.push(Ok(summary));
            }
            // The server aborted the transaction's work: run the batch again.
            Err(e) if is_retryable(&e) => return Err(e),
            Err(e) => {
                sp.rollback().await?;
                results.push(Err(e));
            }
        }
    }
    counts.apply(&*tx).await?;
    // Last: the changes get their seqs (the head rows stay locked only until the COMMIT).
    pending.commit(&*tx, now).await?;
    Ok(results)
}

async fn ingest_job(
    c: &impl GenericClient,
    job: &mut Job,
    deferred: &mut ingest::Deferred,
) -> StoreResult<IngestSummary> {
    // The types the caller loaded serve the first attempt; a retry loads them afresh.
    let types = match job.types.take() {
        Some(t) => t,
        None => TypeAssigner::new(type_names(c, job.project).await?, job.max_group_types),
    };
    ingest::ingest_in(
        c,
        job.project,
        &job.events,
        types,
        job.now,
        job.source,
        deferred,
    )
    .await
}
