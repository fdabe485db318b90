//! Embedded SQLite backend: one file in WAL mode, one writer thread with group commit
//! ([`writer`]), a small pool of read connections ([`readers`]), versioned migrations
//! ([`migrate`]). Beside the files every backend has, three jobs are SQLite's own: the trigram
//! search index ([`fts`]), the read pool and the WAL checkpoints ([`checkpoint`]).
mod analytics;
mod backup;
mod changes;
mod checkpoint;
mod counts;
mod error;
mod export;
mod fts;
mod group_types;
mod groups;
mod import;
mod ingest;
mod lifecycle;
mod migrate;
mod projects;
mod query;
mod readers;
mod rows;
mod segments;
mod sessions;
mod usage;
mod writer;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;

use crate::{HealthStore, StoreError, StoreOptions, StoreResult};
use readers::ReadPool;
use writer::Writer;

/// The SQLite store.
pub struct SqliteStore {
    /// Shared with a compactor's lease, which gives itself up through it.
    writer: Arc<Writer>,
    readers: Arc<ReadPool>,
    /// The database file, as opened.
    path: PathBuf,
    /// Bumped after writes that may add changes (the stream's wake-up).
    signal: tokio::sync::watch::Sender<u64>,
}

/// The writer connection's page cache, KiB.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database file at `path`.
    pub async fn open(path: &str, options: &StoreOptions) -> StoreResult<Self> {
        let path = path.to_owned();
        let options = options.clone();
        tokio::task::spawn_blocking(move || Self::open_blocking(Path::new(&path), &options))
            .await
            .map_err(|e| StoreError::Internal(anyhow::Error::new(e).context("open task failed")))?
    }

    fn open_blocking(path: &Path, options: &StoreOptions) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut write = migrate::connect(path)?;
        migrate::migrate(&write)?;
        // The writer's page cache: SQLite's default 2 MB is outgrown by the groups' tables and
        // indexes long before 1M groups, and then every insert reads its pages back through the
        // kernel (the creation rate halved between 100k and 1M groups). Pages are allocated as
        // they are touched, so a small database costs no more.
        write.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        // Each job runs in a savepoint, whose journal (the pages it first touched) spilled to a
        // temp file past 64 KiB: a tenth of the writer's time at 1M groups went to writing it.
        write.pragma_update(None, "temp_store", "MEMORY")?;
        let checkpointer = checkpoint::Checkpointer::start(&mut write, migrate::connect(path)?)?;
        let readers = (0..options.sqlite_readers.max(1))
            .map(|_| migrate::connect(path))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            // Tests use a tiny queue to see the backpressure.
            writer: Arc::new(Writer::start(
                write,
                checkpointer,
                options.write_queue.max(1),
            )),
            readers: ReadPool::new(readers),
            path: path.to_owned(),
            signal: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Wakes change-stream readers after a committed write.
    pub(super) fn changed(&self) {
        self.signal.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[async_trait]
impl HealthStore for SqliteStore {
    async fn health(&self) -> StoreResult<()> {
        self.readers
            .read_inline(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await?;
        // A write that must reach the disk: a full one refuses it while reads still work.
        self.writer
            .write(|c| {
                c.prepare_cached(
                    "INSERT INTO health_probe (id, at) VALUES (1, unixepoch('subsec') * 1e6)
                     ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                )?
                .execute([])?;
                Ok(())
            })
            .await
    }

    fn write_queue_depth(&self) -> usize {
        self.writer.queue_depth()
    }
}
