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
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use groupd_core::capture::CaptureEvent;
use tokio::sync::{mpsc, oneshot};

use super::{ATTEMPTS, PropCounts, error::is_retryable, ingest};
use crate::{IngestSummary, StoreError, StoreResult};

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 64;

struct Job {
    project: i64,
    events: Vec<CaptureEvent>,
    max_group_types: u32,
    now: i64,
    reply: oneshot::Sender<StoreResult<IngestSummary>>,
}

/// Handle to the writer task.
pub(super) struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task; at most `queue` requests wait before callers get `Busy`.
    pub(super) fn start(pool: Pool, queue: usize) -> Self {
        let (tx, rx) = mpsc::channel(queue);
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    /// Ingests one request in the next batch; returns once it is committed.
    pub(super) async fn ingest(
        &self,
        project: i64,
        events: Vec<CaptureEvent>,
        max_group_types: u32,
        now: i64,
    ) -> StoreResult<IngestSummary> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            project,
            events,
            max_group_types,
            now,
            reply,
        };
        self.tx.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Internal(anyhow::anyhow!("the writer has stopped"))
            }
        })?;
        answer
            .await
            .map_err(|_| StoreError::Internal(anyhow::anyhow!("the writer dropped a job")))?
    }

    /// Requests waiting for the writer.
    pub(super) fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

async fn run(pool: Pool, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let results = run_batch(&pool, &jobs).await;
        metrics::histogram!("groupd_write_batch_size").record(jobs.len() as f64);
        metrics::histogram!("groupd_write_commit_seconds").record(started.elapsed().as_secs_f64());
        for (job, r) in jobs.drain(..).zip(results) {
            let _ = job.reply.send(r);
        }
    }
}

async fn run_batch(pool: &Pool, jobs: &[Job]) -> Vec<StoreResult<IngestSummary>> {
    let mut attempt = 0u32;
    loop {
        match try_batch(pool, jobs).await {
            Ok(results) => return results,
            Err(e) if attempt + 1 < ATTEMPTS && is_retryable(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 7)).await;
            }
            // No connection freed up in time: the callers should retry later (503).
            Err(StoreError::Busy) => return jobs.iter().map(|_| Err(StoreError::Busy)).collect(),
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "write batch failed");
                let msg = e.to_string();
                return jobs
                    .iter()
                    .map(|_| {
                        Err(StoreError::Internal(anyhow::anyhow!(
                            "write batch failed: {msg}"
                        )))
                    })
                    .collect();
            }
        }
    }
}

/// One transaction for the batch; `Err` only for a failure of the whole batch.
async fn try_batch(pool: &Pool, jobs: &[Job]) -> StoreResult<Vec<StoreResult<IngestSummary>>> {
    let mut client = pool.get().await?;
    let mut tx = client.transaction().await?;
    let mut results = Vec::with_capacity(jobs.len());
    let mut counts = PropCounts::default();
    for job in jobs {
        let sp = tx.savepoint("job").await?;
        let mut job_counts = PropCounts::default();
        let ingested = ingest::ingest_in(
            &sp,
            job.project,
            &job.events,
            job.max_group_types,
            job.now,
            &mut job_counts,
        )
        .await;
        match ingested {
            Ok(summary) => {
                sp.commit().await?;
                counts.absorb(job_counts);
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
    counts.apply(&tx).await?;
    tx.commit().await?;
    Ok(results)
}
