//! A small pool of read connections. WAL lets them read while the writer writes; each statement
//! sees every transaction committed before it started, which gives read-your-writes.
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::{StoreError, StoreResult};

pub(super) struct ReadPool {
    conns: Mutex<Vec<Connection>>,
    available: Semaphore,
}

impl ReadPool {
    pub(super) fn new(conns: Vec<Connection>) -> Arc<Self> {
        let n = conns.len();
        Arc::new(Self {
            conns: Mutex::new(conns),
            available: Semaphore::new(n),
        })
    }

    /// Runs `f` on a pooled connection on the blocking thread pool.
    pub(super) async fn read<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.read_mut(move |c| f(c)).await
    }

    /// Runs `f` on a pooled connection on the calling (runtime) thread. Only for reads bounded
    /// by an index seek and a page of rows: the hand-off to the blocking pool and back costs
    /// more than such a read (two context switches and a wake-up per request).
    pub(super) async fn read_inline<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        let _permit = self
            .available
            .acquire()
            .await
            .map_err(|_| StoreError::Internal(anyhow::anyhow!("read pool closed")))?;
        let conn = self.take()?;
        let r = f(&conn);
        self.put(conn);
        r
    }

    /// [`Self::read_inline`] when `bounded` (the read is an index seek and a page of rows), else
    /// [`Self::read`].
    pub(super) async fn read_maybe_inline<T, F>(
        self: &Arc<Self>,
        bounded: bool,
        f: F,
    ) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        if bounded {
            self.read_inline(f).await
        } else {
            self.read(f).await
        }
    }

    fn take(&self) -> StoreResult<Connection> {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .ok_or_else(|| StoreError::Internal(anyhow::anyhow!("no read connection")))
    }

    fn put(&self, conn: Connection) {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }

    /// Like [`Self::read`], for work that configures the connection (e.g. a progress handler).
    pub(super) async fn read_mut<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self
            .available
            .acquire()
            .await
            .map_err(|_| StoreError::Internal(anyhow::anyhow!("read pool closed")))?;
        let pool = Arc::clone(self);
        let out = tokio::task::spawn_blocking(move || {
            let mut conn = pool.take()?;
            let r = f(&mut conn);
            pool.put(conn);
            r
        })
        .await
        .map_err(|e| StoreError::Internal(anyhow::anyhow!("read task failed: {e}")))?;
        drop(permit);
        out
    }
}
