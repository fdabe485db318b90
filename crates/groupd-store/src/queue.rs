//! Handing a job to a backend's writer: a full queue answers `Busy` at once (backpressure, not an
//! unbounded wait), and the caller waits only for its own job's answer.
use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, StoreResult};

/// Queues `job` and waits for the answer it will send on `answer`.
pub(crate) async fn enqueue<J, T>(
    tx: &mpsc::Sender<J>,
    job: J,
    answer: oneshot::Receiver<StoreResult<T>>,
) -> StoreResult<T> {
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

/// Jobs waiting in a writer's queue.
pub(crate) fn depth<J>(tx: &mpsc::Sender<J>) -> usize {
    tx.max_capacity() - tx.capacity()
}
