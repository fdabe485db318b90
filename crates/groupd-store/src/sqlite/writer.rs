//! The single writer: one thread owns the only write connection and commits jobs in batches
//! (group commit). Many concurrent requests share one transaction and one fsync; each job runs in
//! its own savepoint, so one job's failure never undoes another's. A job's caller is answered only
//! after the batch's COMMIT returned: an answered write is durable.
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{
    checkpoint::Checkpointer,
    error::{is_busy, refuses_writes},
    fts,
};
use crate::{StoreError, StoreResult, queue};

/// How long the queue stays empty before the writer turns to index maintenance.
const IDLE: std::time::Duration = std::time::Duration::from_millis(50);

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;

/// Queued groups indexed per idle step: tens of milliseconds, so a write arriving meanwhile
/// waits little.
const IDLE_INDEX_STEP: usize = 5_000;

/// Why a batch did not commit, told to each of its jobs.
#[derive(Debug, Clone)]
enum BatchFailure {
    /// Another process held the database past the busy timeout: retry shortly.
    Busy,
    /// The disk is full or the file read-only: retry later.
    Full(String),
    /// Anything else (logged once for the batch, with its cause).
    Failed(String),
}

impl BatchFailure {
    fn of(e: &rusqlite::Error) -> Self {
        if is_busy(e) {
            BatchFailure::Busy
        } else if refuses_writes(e) {
            BatchFailure::Full(e.to_string())
        } else {
            BatchFailure::Failed(e.to_string())
        }
    }

    fn to_error(&self) -> StoreError {
        match self {
            BatchFailure::Busy => StoreError::Busy,
            BatchFailure::Full(e) => StoreError::StorageFull(e.clone()),
            BatchFailure::Failed(e) => {
                StoreError::Internal(anyhow::anyhow!("write batch failed: {e}"))
            }
        }
    }
}

/// Answers a job's caller once the batch committed (`None`) or failed to.
type Answer = Box<dyn FnOnce(Option<&BatchFailure>) + Send>;

/// One caller's write: run inside the batch, answered once the batch's fate is known.
trait Job: Send {
    /// Runs the work in its savepoint; returns how to answer once the batch committed or not.
    fn run(self: Box<Self>, conn: &Connection) -> Answer;
    /// Answers without running (the batch could not begin).
    fn fail(self: Box<Self>, why: &BatchFailure);
}

struct Write<T, F> {
    work: F,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Answer {
        let result = in_savepoint(conn, self.work);
        let reply = self.reply;
        Box::new(move |failure| {
            let out = match (failure, result) {
                (Some(f), Ok(_)) => Err(f.to_error()),
                (_, r) => r,
            };
            let _ = reply.send(out);
        })
    }

    fn fail(self: Box<Self>, why: &BatchFailure) {
        let _ = self.reply.send(Err(why.to_error()));
    }
}

/// Handle to the writer thread.
pub(super) struct Writer {
    tx: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    /// Ends once the writer's connection closed: dropped after the thread is joined.
    checkpointer: Option<Checkpointer>,
}

impl Writer {
    /// Starts the writer thread on `conn`, whose WAL `checkpointer` keeps short; at most `queue`
    /// jobs wait before callers get `Busy`.
    pub(super) fn start(conn: Connection, checkpointer: Checkpointer, queue: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(queue);
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
            checkpointer: Some(checkpointer),
        }
    }

    /// Runs `work` in the next batch; returns its result once committed.
    pub(super) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or(StoreError::Busy)?;
        queue::enqueue(tx, Box::new(Write { work, reply }) as Box<dyn Job>, answer).await
    }

    /// Jobs waiting for the writer.
    pub(super) fn queue_depth(&self) -> usize {
        self.tx.as_ref().map_or(0, queue::depth)
    }
}

impl Drop for Writer {
    /// Lets the writer finish every queued job, then joins it.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.checkpointer.take();
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

/// Indexes up to `max` queued groups in a transaction of its own; returns how many (0 on
/// failure, logged: the queue stays for the next try).
fn index_step(conn: &Connection, max: usize) -> usize {
    // A failure at any point rolls back once, below.
    let step = || -> StoreResult<usize> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let n = fts::index_pending(conn, max)?;
        conn.execute_batch("COMMIT")?;
        Ok(n)
    };
    let started = std::time::Instant::now();
    match step() {
        Ok(n) => {
            if n > 0 {
                metrics::histogram!("groupd_search_index_seconds")
                    .record(started.elapsed().as_secs_f64());
            }
            n
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            tracing::warn!(error = %e, "search index step failed");
            0
        }
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>, timer: tokio::runtime::Runtime) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    // Index maintenance runs only once no job has come for IDLE (a steady load, even one
    // leaving gaps between its requests, is not slowed by it); an earlier run may have left some.
    // Under a steady load the search queue is indexed each time INDEX_BATCH groups have queued.
    let mut merge_due = true;
    let mut queued = 0;
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
                merge_due = index_step(&conn, IDLE_INDEX_STEP) > 0 || fts::merge_step(&conn);
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
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                let answers: Vec<_> = jobs.drain(..).map(|job| job.run(&conn)).collect();
                let failure = conn.execute_batch("COMMIT").err().map(|e| {
                    let _ = conn.execute_batch("ROLLBACK");
                    tracing::error!(error = %e, jobs = n, "write batch failed to commit");
                    BatchFailure::of(&e)
                });
                for answer in answers {
                    answer(failure.as_ref());
                }
            }
            Err(e) => {
                // The jobs never ran: each is answered with the reason.
                tracing::error!(error = %e, jobs = n, "write batch could not begin");
                let failure = BatchFailure::of(&e);
                for job in jobs.drain(..) {
                    job.fail(&failure);
                }
            }
        }
        metrics::histogram!("groupd_write_batch_size").record(n as f64);
        metrics::histogram!("groupd_write_commit_seconds").record(started.elapsed().as_secs_f64());
        queued += fts::take_queued();
        if queued >= fts::INDEX_BATCH {
            queued = 0;
            index_step(&conn, usize::MAX);
        }
        let touched = fts::take_fts_touched();
        merge_due |= queued > 0 || touched;
    }
}
