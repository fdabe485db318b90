//! The segment catalog's writes on SQLite. Every write is a writer job, so a compaction's commit
//! is serialised with capture: a retry is either stored before its event moves (and moves with
//! it) or finds the moved key. One compactor at a time, across processes on the file too, by a
//! lease row that expires if its holder dies.
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::{
    SqliteStore,
    analytics::{EVENT_COLS, SEGMENT_COLS, event_from_row, segment_from_row},
    writer::Writer,
};
use crate::{
    CompactorLock, DAY_US, HotPartition, MovingEvent, Partition, SegmentCommit, SegmentRef,
    SegmentStore, StoreError, StoreResult,
};

/// How long a compactor's lease holds without being given up (a process that dies holding it).
const LEASE_US: i64 = 15 * 60 * 1_000_000;

/// Most keys forgotten in one writer job (a long prune must not stall capture).
const PRUNE_CHUNK: i64 = 20_000;

/// The lease row, given up through the writer.
struct Lease {
    writer: Arc<Writer>,
    holder: String,
}

#[async_trait]
impl CompactorLock for Lease {
    async fn release(self: Box<Self>) {
        let holder = self.holder.clone();
        let released = self
            .writer
            .write(move |c| {
                c.execute(
                    "UPDATE compactor_lease SET holder = NULL, until_us = 0 WHERE id = 1 AND holder = ?1",
                    [holder],
                )?;
                Ok(())
            })
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not give up the compactor lease; it expires by itself");
        }
    }
}

fn commit(c: &Connection, commit: &SegmentCommit) -> StoreResult<SegmentRef> {
    let seg = &commit.segment;
    let project = seg.partition.project.0;
    let id: i64 = c
        .prepare_cached(
            "INSERT INTO event_segments
               (project_id, day, path, rows, bytes, min_timestamp, max_timestamp, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )?
        .query_row(
            params![
                project,
                seg.partition.day,
                seg.path,
                seg.rows as i64,
                seg.bytes as i64,
                seg.min_timestamp_us,
                seg.max_timestamp_us,
                commit.now_us
            ],
            |r| r.get(0),
        )?;
    let mut delete = c.prepare_cached(
        "DELETE FROM events WHERE project_id = ?1 AND sent_ts = ?2 AND uuid = ?3",
    )?;
    let mut keep = c.prepare_cached(
        "INSERT OR IGNORE INTO moved_event_keys (project_id, sent_ts, uuid, created_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for k in &commit.moved {
        let uuid = k.uuid.as_bytes().as_slice();
        if delete.execute(params![project, k.sent_ts, uuid])? != 1 {
            // The writer's savepoint undoes everything this job did.
            return Err(StoreError::NotFound);
        }
        keep.execute(params![project, k.sent_ts, uuid, k.created_at_us])?;
    }
    let mut unlist =
        c.prepare_cached("DELETE FROM event_segments WHERE project_id = ?1 AND id = ?2")?;
    for id in &commit.replaces {
        if unlist.execute(params![project, id])? != 1 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(SegmentRef {
        id,
        project: seg.partition.project,
        path: seg.path.clone(),
        rows: seg.rows,
        bytes: seg.bytes,
        min_timestamp_us: seg.min_timestamp_us,
        max_timestamp_us: seg.max_timestamp_us,
    })
}

/// The UTC day of `timestamp` (µs), rounded down also before 1970.
const DAY_OF_TIMESTAMP: &str = "(timestamp - ((timestamp % ?D) + ?D) % ?D) / ?D";

#[async_trait]
impl SegmentStore for SqliteStore {
    fn default_data_dir(&self) -> (String, String) {
        (
            format!("{}.segments", self.path.display()),
            "default".into(),
        )
    }

    async fn claim_data_dir(&self, data_dir: &str) -> StoreResult<String> {
        let data_dir = data_dir.to_owned();
        self.writer
            .write(move |c| {
                c.execute(
                    "INSERT OR IGNORE INTO segment_settings (name, value) VALUES ('data_dir', ?1)",
                    [&data_dir],
                )?;
                Ok(c.query_row(
                    "SELECT value FROM segment_settings WHERE name = 'data_dir'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
    }

    async fn try_lock_compactor(&self, now_us: i64) -> StoreResult<Option<Box<dyn CompactorLock>>> {
        let holder = uuid::Uuid::new_v4().to_string();
        let h = holder.clone();
        let taken = self
            .writer
            .write(move |c| {
                Ok(c.execute(
                    "UPDATE compactor_lease SET holder = ?1, until_us = ?2
                     WHERE id = 1 AND (holder IS NULL OR until_us < ?3)",
                    params![h, now_us.saturating_add(LEASE_US), now_us],
                )? == 1)
            })
            .await?;
        Ok(taken.then(|| {
            Box::new(Lease {
                writer: Arc::clone(&self.writer),
                holder,
            }) as Box<dyn CompactorLock>
        }))
    }

    async fn hot_partitions(&self, before_us: i64) -> StoreResult<Vec<HotPartition>> {
        self.readers
            .read(move |c| {
                let sql = format!(
                    "SELECT project_id, {day}, count(*) FROM events WHERE created_at < ?1
                     GROUP BY 1, 2 ORDER BY 1, 2",
                    day = DAY_OF_TIMESTAMP.replace("?D", &DAY_US.to_string())
                );
                let mut st = c.prepare_cached(&sql)?;
                let rows = st.query_map([before_us], |r| {
                    Ok(HotPartition {
                        partition: Partition {
                            project: groupd_core::ProjectId(r.get(0)?),
                            day: r.get(1)?,
                        },
                        rows: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn events_to_move(
        &self,
        partition: Partition,
        before_us: i64,
        limit: usize,
    ) -> StoreResult<Vec<MovingEvent>> {
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "SELECT {EVENT_COLS}, sent_ts FROM events
                     WHERE project_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 AND created_at < ?4
                     ORDER BY timestamp, uuid LIMIT ?5"
                ))?;
                let mut rows = st.query(params![
                    partition.project.0,
                    partition.start_us(),
                    partition.end_us(),
                    before_us,
                    limit as i64
                ])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(MovingEvent {
                        sent_ts: r.get(7)?,
                        event: event_from_row(r)?,
                    });
                }
                Ok(out)
            })
            .await
    }

    async fn partition_segments(&self, partition: Partition) -> StoreResult<Vec<SegmentRef>> {
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "SELECT {SEGMENT_COLS} FROM event_segments WHERE project_id = ?1 AND day = ?2
                     ORDER BY id"
                ))?;
                let rows = st.query_map(
                    params![partition.project.0, partition.day],
                    segment_from_row,
                )?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn fragmented_partitions(&self, below_rows: u64) -> StoreResult<Vec<Partition>> {
        let below = i64::try_from(below_rows).unwrap_or(i64::MAX);
        self.readers
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT project_id, day FROM event_segments WHERE rows < ?1
                     GROUP BY project_id, day HAVING count(*) > 1 ORDER BY project_id, day",
                )?;
                let rows = st.query_map(params![below], |r| {
                    Ok(Partition {
                        project: groupd_core::ProjectId(r.get(0)?),
                        day: r.get(1)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn segment_paths(&self) -> StoreResult<Vec<String>> {
        self.readers
            .read(|c| {
                let mut st = c.prepare_cached("SELECT path FROM event_segments")?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
    }

    async fn commit_segment(&self, c: SegmentCommit) -> StoreResult<SegmentRef> {
        self.writer.write(move |conn| commit(conn, &c)).await
    }

    async fn prune_moved_keys(&self, before_us: i64) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let n = self
                .writer
                .write(move |c| {
                    Ok(c.prepare_cached(
                        "DELETE FROM moved_event_keys WHERE (project_id, sent_ts, uuid) IN
                           (SELECT project_id, sent_ts, uuid FROM moved_event_keys
                            WHERE created_at < ?1 LIMIT ?2)",
                    )?
                    .execute(params![before_us, PRUNE_CHUNK])?)
                })
                .await?;
            total += n as u64;
            if (n as i64) < PRUNE_CHUNK {
                return Ok(total);
            }
        }
    }
}
