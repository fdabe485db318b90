//! WAL checkpoints off the writer thread. SQLite's own checkpoint runs inside the COMMIT that
//! passes 1000 WAL pages, on the committing connection: the writer stopped for it and every job of
//! the next batch waited (5.6 % of the writer's time ingesting new groups). Here the writer's
//! commit hook only wakes a thread of its own, with a connection of its own, which copies the WAL
//! into the database file while the writer goes on committing.
//!
//! A checkpoint running beside a writer never catches up with the WAL's end, and SQLite restarts
//! the WAL only once everything in it is in the database file: left alone, the WAL would grow for
//! as long as the load lasts. So once it reaches [`RESTART_PAGES`] the writer checkpoints itself,
//! right after that batch's commit (its callers wait for it, once per 32 MiB): little is left to
//! copy by then, and its next transaction starts the WAL from the beginning. Both are PASSIVE
//! checkpoints, which never wait on readers.
use std::{
    sync::mpsc::{Receiver, sync_channel},
    thread::JoinHandle,
};

use rusqlite::{Connection, wal::CheckpointMode};

use super::error::is_busy;
use crate::{StoreResult, error::internal};

/// WAL pages written between two wake-ups of the checkpoint thread (SQLite's own threshold).
const WAKE_PAGES: i32 = 1000;

/// WAL pages at which the writer finishes the checkpoint itself, so the WAL restarts: 32 MiB of
/// 4 KiB pages.
pub(super) const RESTART_PAGES: i32 = 8000;

/// The checkpoint thread; it ends once the writer's connection is gone.
pub(super) struct Checkpointer {
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Moves `writer`'s checkpoints to a thread of its own, on connection `own`.
    pub(super) fn start(writer: &mut Connection, own: Connection) -> StoreResult<Self> {
        let (wake, woken) = sync_channel::<()>(1);
        let mut next_wake = WAKE_PAGES;
        let mut next_restart = RESTART_PAGES;
        // Runs after each commit, with the WAL's length in pages (0 after a restart). Its error
        // would be the COMMIT's, which had succeeded: failures are logged, never returned.
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            if pages < next_wake - WAKE_PAGES {
                next_wake = WAKE_PAGES;
                next_restart = RESTART_PAGES;
            }
            if pages >= next_restart {
                match wal.checkpoint_v2(CheckpointMode::PASSIVE) {
                    Ok(_) => next_restart = pages + WAKE_PAGES,
                    // The thread is checkpointing: try again after the next commit.
                    Err(e) if is_busy(&e) => {}
                    Err(e) => {
                        next_restart = pages + WAKE_PAGES;
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            } else if pages >= next_wake {
                next_wake = pages + WAKE_PAGES;
                // Full: a wake-up is pending already, and its checkpoint copies these pages too.
                let _ = wake.try_send(());
            }
            Ok(())
        }))?;
        let thread = std::thread::Builder::new()
            .name("groupd-sqlite-checkpoint".into())
            .spawn(move || run(own, woken))
            .map_err(internal("spawn the checkpoint thread"))?;
        Ok(Self {
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    /// Joins the thread; call after the writer's connection closed, which ends it.
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: Connection, woken: Receiver<()>) {
    while woken.recv().is_ok() {
        let started = std::time::Instant::now();
        match conn.wal_checkpoint_v2(rusqlite::DEFAULT_NAME, CheckpointMode::PASSIVE) {
            Ok(_) => metrics::histogram!("groupd_wal_checkpoint_seconds")
                .record(started.elapsed().as_secs_f64()),
            // The writer is finishing one: nothing to report.
            Err(e) if is_busy(&e) => {}
            // A full disk, say: the next wake-up, or the writer, tries again.
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{path::Path, sync::Arc, time::Duration};

    use super::RESTART_PAGES;
    use crate::{StoreOptions, sqlite::SqliteStore};

    const PAGE: u64 = 4096;

    async fn store(dir: &Path) -> Arc<SqliteStore> {
        let path = dir.join("wal.db");
        let store = SqliteStore::open(path.to_str().unwrap(), &StoreOptions::default())
            .await
            .unwrap();
        store
            .writer
            .write(|c| Ok(c.execute_batch("CREATE TABLE filler (x BLOB)")?))
            .await
            .unwrap();
        Arc::new(store)
    }

    /// Writes `jobs` jobs of `pages` new pages each from 8 tasks at once, so the writer never
    /// idles between batches.
    async fn load(store: &Arc<SqliteStore>, jobs: usize, pages: usize) {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..jobs / 8 {
                        let n = (pages as u64 * PAGE) as i64;
                        store
                            .writer
                            .write(move |c| {
                                c.execute("INSERT INTO filler VALUES (randomblob(?1))", [n])?;
                                Ok(())
                            })
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }

    fn len(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// Under a load that never pauses, the WAL still restarts: its file stays near the restart
    /// threshold instead of holding everything written (a checkpoint beside a busy writer alone
    /// never lets it restart).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_steady_load_keeps_the_wal_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let written_pages = 3 * RESTART_PAGES as u64;
        load(&store, (written_pages / 16) as usize, 16).await;
        let wal = len(&dir.path().join("wal.db-wal"));
        assert!(
            wal < (RESTART_PAGES as u64 + 4000) * PAGE,
            "WAL of {} pages after {written_pages} written",
            wal / PAGE
        );
    }

    /// Pages committed reach the database file while the writer idles: the checkpoint thread
    /// copies them (the writer's own checkpoint is off below the restart threshold).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn committed_pages_reach_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let db = dir.path().join("wal.db");
        let before = len(&db);
        // 160 jobs of 16 new pages, one WAL frame more each for the table's leaf: two wake-ups.
        load(&store, 160, 16).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while len(&db) < before + 1500 * PAGE {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file holds {} pages",
                len(&db) / PAGE
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
