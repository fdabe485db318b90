//! Compaction: committed events move from the row store into Parquet segments, and a day's
//! small segments are merged, with no event ever lost or doubled.
//!
//! One step writes the segment to the object store FIRST, then in one database transaction
//! lists it in the catalog and deletes the moved events from `events`, keeping their
//! idempotency keys for the dedup window. A crash between the two leaves an orphan file (no
//! catalog row lists it, so no reader sees it), removed by a later sweep; a crash inside the
//! transaction leaves nothing. A merge replaces its segments in the catalog the same way; the
//! files it replaced stay for a grace period, since a query that took its snapshot before the
//! merge may still be reading them. Only the holder of the store's compactor lock runs a step.
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use datafusion::object_store::{ObjectStore, ObjectStoreExt, path::Path};
use futures::TryStreamExt;
use groupd_core::Clock;
use groupd_store::{MovedKey, Partition, SegmentCommit, Store};

use super::writer::{Effort, put_segment, read_segments, sort_by_time, to_batch};

/// How compaction runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionConfig {
    /// Between two runs of the background task (zero: no background task).
    pub interval: Duration,
    /// How long an event stays in the row store at least (received this long ago).
    pub min_age: Duration,
    /// Most events one step moves into one segment (bounds memory and the commit's length).
    pub batch_rows: usize,
    /// Small segments of a day are merged into segments of up to this many events. A merge holds
    /// its events in memory (about 0.5 KB each), so this bounds its memory too.
    pub merge_rows: u64,
    /// How long a moved event's key is kept for deduplication after it was received.
    pub dedup_window: Duration,
    /// How old a file no catalog row lists must be before a sweep removes it, and how long a
    /// replaced segment's file is kept for the queries still reading it.
    pub orphan_grace: Duration,
    /// Between two sweeps for orphan files (the first run of a process always sweeps).
    pub sweep_every: Duration,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(20),
            min_age: Duration::from_secs(10),
            batch_rows: 100_000,
            merge_rows: 250_000,
            dedup_window: Duration::from_secs(7 * 86_400),
            orphan_grace: Duration::from_secs(15 * 60),
            sweep_every: Duration::from_secs(3600),
        }
    }
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompactionReport {
    /// Another compactor held the lock: nothing was done.
    pub skipped: bool,
    /// Segments written from the row store.
    pub segments_written: u64,
    /// Events moved out of the row store.
    pub events_moved: u64,
    /// Segments replaced by merges.
    pub segments_merged: u64,
    /// Files removed: orphans and replaced segments past the grace period.
    pub files_removed: u64,
    /// Moved keys forgotten past the dedup window.
    pub keys_forgotten: u64,
}

/// Moves events into segments; one per server, and one at a time across servers (the lock).
pub struct Compactor {
    store: Arc<dyn Store>,
    segments: Arc<dyn ObjectStore>,
    config: CompactionConfig,
    /// Files of replaced segments, with when they were replaced (wall clock).
    retired: Mutex<Vec<(String, SystemTime)>>,
    /// When this process last swept for orphans.
    swept: Mutex<Option<SystemTime>>,
}

/// Segments merge in tiers of about this many of a size.
const FANOUT: usize = 4;
/// The smallest tier: segments of fewer events than this.
const TIER_BASE: u64 = 1024;

/// A segment's size tier: 0 below [`TIER_BASE`] events, then one more per factor of [`FANOUT`].
fn tier(rows: u64) -> u32 {
    let (mut t, mut cap) = (0, TIER_BASE);
    while rows >= cap {
        t += 1;
        cap = cap.saturating_mul(FANOUT as u64);
    }
    t
}

/// Runs of consecutive segments of up to `max_rows` events in all and at most `max_len`
/// segments each; only runs of two or more are returned (one segment needs no merge).
fn runs(
    segments: Vec<groupd_store::SegmentRef>,
    max_rows: u64,
    max_len: usize,
) -> Vec<Vec<groupd_store::SegmentRef>> {
    let mut runs = Vec::new();
    let (mut run, mut rows) = (Vec::new(), 0);
    for s in segments {
        if !run.is_empty() && (rows + s.rows > max_rows || run.len() == max_len) {
            runs.push(std::mem::take(&mut run));
            rows = 0;
        }
        rows += s.rows;
        run.push(s);
    }
    runs.push(run);
    runs.retain(|r| r.len() > 1);
    runs
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Compactor {
    /// A compactor of `store`'s events into `segments`.
    pub fn new(
        store: Arc<dyn Store>,
        segments: Arc<dyn ObjectStore>,
        config: CompactionConfig,
    ) -> Self {
        Self {
            store,
            segments,
            config,
            retired: Mutex::default(),
            swept: Mutex::default(),
        }
    }

    /// The settings it runs with.
    pub fn config(&self) -> &CompactionConfig {
        &self.config
    }

    /// One run at `now_us` (the clock events are received by): sweep (when due), move what is
    /// old enough, merge the small segments of the days it touched, forget keys past the window.
    pub async fn run_once(&self, now_us: i64) -> anyhow::Result<CompactionReport> {
        let Some(lock) = self.store.try_lock_compactor(now_us).await? else {
            return Ok(CompactionReport {
                skipped: true,
                ..CompactionReport::default()
            });
        };
        let started = std::time::Instant::now();
        let out = self.run_locked(now_us).await;
        lock.release().await;
        if let Ok(r) = &out {
            metrics::counter!("groupd_events_compacted_total").increment(r.events_moved);
            metrics::counter!("groupd_segments_written_total").increment(r.segments_written);
            metrics::counter!("groupd_segments_merged_total").increment(r.segments_merged);
        }
        metrics::histogram!("groupd_compaction_seconds").record(started.elapsed().as_secs_f64());
        out
    }

    async fn run_locked(&self, now_us: i64) -> anyhow::Result<CompactionReport> {
        let mut report = CompactionReport::default();
        report.files_removed += self.remove_retired().await;
        if self.sweep_due() {
            report.files_removed += self.sweep().await?;
        }
        let before = now_us.saturating_sub(micros(self.config.min_age));
        let mut touched = BTreeSet::new();
        for hot in self.store.hot_partitions(before).await? {
            loop {
                let moved = self.move_step(hot.partition, before, now_us).await?;
                if moved == 0 {
                    break;
                }
                touched.insert(hot.partition);
                report.segments_written += 1;
                report.events_moved += moved as u64;
                if moved < self.config.batch_rows {
                    break;
                }
            }
        }
        // Partitions still being written merge by tiers; every other one that the catalog shows
        // in pieces is merged whole, so a finished day ends as few segments as `merge_rows`
        // allows. The catalog, not this process's memory, says which: a restart, or another
        // server having written the day, leaves nothing fragmented for good.
        let settling: Vec<Partition> = self
            .store
            .fragmented_partitions(self.config.merge_rows)
            .await?
            .into_iter()
            .filter(|p| !touched.contains(p))
            .collect();
        for partition in touched {
            report.segments_merged += self.merge(partition, true, now_us).await?;
        }
        for partition in settling {
            report.segments_merged += self.merge(partition, false, now_us).await?;
        }
        report.keys_forgotten = self
            .store
            .prune_moved_keys(now_us.saturating_sub(micros(self.config.dedup_window)))
            .await?;
        if report.events_moved > 0 {
            self.store.reclaim_moved().await?;
        }
        Ok(report)
    }

    /// Moves up to `batch_rows` events of one partition into a new segment; how many moved.
    async fn move_step(
        &self,
        partition: Partition,
        before: i64,
        now_us: i64,
    ) -> anyhow::Result<usize> {
        let moving = self
            .store
            .events_to_move(partition, before, self.config.batch_rows.max(1))
            .await?;
        if moving.is_empty() {
            return Ok(0);
        }
        let events: Vec<_> = moving.iter().map(|m| m.event.clone()).collect();
        // Already in timestamp order; the sort also orders equal times by uuid, as merges do.
        let batch = sort_by_time(&to_batch(&events)?)?;
        let segment = put_segment(self.segments.as_ref(), partition, &batch, Effort::Quick).await?;
        let path = segment.path.clone();
        let commit = SegmentCommit {
            segment,
            moved: moving
                .iter()
                .map(|m| MovedKey {
                    sent_ts: m.sent_ts,
                    uuid: m.event.uuid,
                    created_at_us: m.event.created_at_us,
                })
                .collect(),
            replaces: vec![],
            now_us,
        };
        if let Err(e) = self.store.commit_segment(commit).await {
            // Never listed: no reader can have seen it.
            let _ = self.segments.delete(&Path::from(path.as_str())).await;
            return Err(e.into());
        }
        Ok(moving.len())
    }

    /// Merges the partition's small segments (oldest first) into segments of up to `merge_rows`
    /// events; how many segments were replaced.
    ///
    /// While a partition is being written (`tiered`), segments merge only once [`FANOUT`] of about
    /// the same size have gathered, so each event is rewritten about log4(merge_rows / 1024) times
    /// in all. Merging a day whole on every run, as compaction every second of events spread over
    /// many days would, rewrites each event once per run: the write cost grows with the day's size.
    async fn merge(&self, partition: Partition, tiered: bool, now_us: i64) -> anyhow::Result<u64> {
        let segments = self.store.partition_segments(partition).await?;
        let small: Vec<_> = segments
            .into_iter()
            .filter(|s| s.rows < self.config.merge_rows)
            .collect();
        let max_rows = self.config.merge_rows;
        let runs = if tiered {
            let mut tiers: std::collections::BTreeMap<u32, Vec<_>> = Default::default();
            for s in small {
                tiers.entry(tier(s.rows)).or_default().push(s);
            }
            tiers
                .into_values()
                .filter(|t| t.len() >= FANOUT)
                .flat_map(|t| runs(t, max_rows, FANOUT))
                .collect()
        } else {
            runs(small, max_rows, usize::MAX)
        };
        let mut replaced = 0;
        for run in runs {
            // A tier's merge output is merged again unless it is close to full size; what a
            // settled day's whole merge writes stays.
            let rows: u64 = run.iter().map(|s| s.rows).sum();
            let effort = if !tiered || rows.saturating_mul(FANOUT as u64) > max_rows {
                Effort::Thorough
            } else {
                Effort::Quick
            };
            replaced += self.merge_run(partition, run, effort, now_us).await?;
        }
        Ok(replaced)
    }

    async fn merge_run(
        &self,
        partition: Partition,
        run: Vec<groupd_store::SegmentRef>,
        effort: Effort,
        now_us: i64,
    ) -> anyhow::Result<u64> {
        let paths: Vec<String> = run.iter().map(|s| s.path.clone()).collect();
        let batch = sort_by_time(&read_segments(&self.segments, &paths).await?)?;
        let expected: u64 = run.iter().map(|s| s.rows).sum();
        anyhow::ensure!(
            batch.num_rows() as u64 == expected,
            "segments of {partition:?} hold {} rows, the catalog says {expected}",
            batch.num_rows()
        );
        let segment = put_segment(self.segments.as_ref(), partition, &batch, effort).await?;
        let path = segment.path.clone();
        let commit = SegmentCommit {
            segment,
            moved: vec![],
            replaces: run.iter().map(|s| s.id).collect(),
            now_us,
        };
        if let Err(e) = self.store.commit_segment(commit).await {
            let _ = self.segments.delete(&Path::from(path.as_str())).await;
            return Err(e.into());
        }
        let now = SystemTime::now();
        self.retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(paths.into_iter().map(|p| (p, now)));
        Ok(run.len() as u64)
    }

    /// Removes the files of segments replaced longer than the grace period ago.
    async fn remove_retired(&self) -> u64 {
        let grace = self.config.orphan_grace;
        let due: Vec<String> = {
            let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
            let (due, keep) = std::mem::take(&mut *retired)
                .into_iter()
                .partition(|(_, at)| at.elapsed().unwrap_or_default() >= grace);
            *retired = keep;
            due.into_iter().map(|(p, _)| p).collect()
        };
        let mut n = 0;
        for p in due {
            if self.segments.delete(&Path::from(p.as_str())).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    fn sweep_due(&self) -> bool {
        let mut swept = self.swept.lock().unwrap_or_else(|p| p.into_inner());
        let due = swept.is_none_or(|t| t.elapsed().unwrap_or_default() >= self.config.sweep_every);
        if due {
            *swept = Some(SystemTime::now());
        }
        due
    }

    /// Removes files no catalog row lists that are older than the grace period: segments of a
    /// step that crashed before its commit, or replaced ones another process did not remove.
    async fn sweep(&self) -> anyhow::Result<u64> {
        let live: BTreeSet<String> = self.store.segment_paths().await?.into_iter().collect();
        let retired: BTreeSet<String> = self
            .retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(p, _)| p.clone())
            .collect();
        let cutoff = SystemTime::now() - self.config.orphan_grace;
        let files: Vec<_> = self.segments.list(None).try_collect().await?;
        let mut n = 0;
        for f in files {
            let path = f.location.to_string();
            if !path.ends_with(".parquet") || live.contains(&path) || retired.contains(&path) {
                continue;
            }
            if SystemTime::from(f.last_modified) <= cutoff {
                self.segments.delete(&f.location).await?;
                tracing::info!(%path, "removed an orphan segment file");
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Runs `compactor` every `interval` until the runtime stops; a failed run is logged and the next
/// one tries again.
pub fn spawn(compactor: Arc<Compactor>, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
    let interval = compactor.config.interval;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            match compactor.run_once(clock.now_us()).await {
                Ok(r) if r.events_moved > 0 || r.segments_merged > 0 => {
                    tracing::debug!(?r, "compaction");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "compaction failed; retrying later")
                }
            }
        }
    })
}
