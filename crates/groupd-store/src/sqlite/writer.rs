//! The single writer: one thread owns the only write connection and commits jobs in batches
//! (group commit). Many concurrent requests share one transaction and one fsync; each job runs in
//! its own savepoint, so one job's failure never undoes another's. A job's caller is answered only
//! after the batch's COMMIT returned: an answered write is durable.
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, StoreResult};

/// Called once the batch holding the job has committed (`Ok`) or failed to (`Err`).
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs inside the batch transaction and returns how to answer its caller.
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

/// How long the queue stays empty before the writer turns to index maintenance.
const IDLE: std::time::Duration = std::time::Duration::from_millis(50);

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;

/// Handle to the writer thread.
pub(super) struct Writer {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`; at most `queue` jobs wait before callers get `Busy`.
    pub(super) fn start(conn: Connection, queue: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(queue);
        // The writer's own clock, to wait on the queue with a timeout from a plain thread.
        let timer = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("build the writer's timer");
        let thread = std::thread::Builder::new()
            .name("groupd-sqlite-writer".into())
            .spawn(move || run(conn, rx, timer))
            .expect("spawn the writer thread");
        Self {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// Runs `f` in the next batch; returns its result once committed.
    pub(super) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = in_savepoint(conn, f);
            Box::new(move |committed: Result<(), String>| {
                let out = match committed {
                    Ok(()) => result,
                    Err(e) if result.is_ok() => {
                        Err(StoreError::Internal(anyhow::anyhow!("commit failed: {e}")))
                    }
                    Err(_) => result,
                };
                let _ = reply.send(out);
            })
        });
        let tx = self.tx.as_ref().ok_or(StoreError::Busy)?;
        tx.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Internal(anyhow::anyhow!("the writer has stopped"))
            }
        })?;
        answer
            .await
            .map_err(|_| StoreError::Internal(anyhow::anyhow!("the writer dropped a job")))?
    }

    /// Jobs waiting for the writer.
    pub(super) fn queue_depth(&self) -> usize {
        self.tx
            .as_ref()
            .map_or(0, |tx| tx.max_capacity() - tx.capacity())
    }
}

impl Drop for Writer {
    /// Lets the writer finish every queued job, then joins it.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT job")?;
    let r = f(conn);
    let end = if r.is_ok() {
        conn.execute_batch("RELEASE job")
    } else {
        conn.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    match (r, end) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), _) => Err(e),
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Job>, timer: tokio::runtime::Runtime) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    // Index maintenance runs only once no job has come for IDLE (a steady load, even one
    // leaving gaps between its requests, is not slowed by it); an earlier run may have left some.
    let mut merge_due = true;
    loop {
        let next = timer.block_on(async {
            if merge_due {
                tokio::time::timeout(IDLE, rx.recv()).await.ok()
            } else {
                Some(rx.recv().await)
            }
        });
        let first = match next {
            Some(Some(j)) => j,
            Some(None) => break,
            None => {
                merge_due = super::index::merge_step(&conn);
                continue;
            }
        };
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let n = jobs.len();
        let completions: Vec<Completion>;
        let committed = match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                completions = jobs.drain(..).map(|job| job(&conn)).collect();
                conn.execute_batch("COMMIT").map_err(|e| {
                    let _ = conn.execute_batch("ROLLBACK");
                    e.to_string()
                })
            }
            Err(e) => {
                // The jobs never ran; dropping them answers their callers with an error.
                jobs.clear();
                completions = Vec::new();
                Err(e.to_string())
            }
        };
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = n, "write batch failed");
        }
        metrics::histogram!("groupd_write_batch_size").record(n as f64);
        metrics::histogram!("groupd_write_commit_seconds").record(started.elapsed().as_secs_f64());
        for c in completions {
            c(committed.clone());
        }
        merge_due |= super::index::take_fts_touched();
    }
}
