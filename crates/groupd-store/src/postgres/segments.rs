//! The segment catalog's writes on PostgreSQL. A commit is one transaction (segment listed,
//! moved events deleted, their keys kept, replaced segments unlisted). One compactor across every
//! process on the database: a session advisory lock, held on a connection of its own for as long
//! as the compactor runs, and released by PostgreSQL itself if the process dies.
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use groupd_core::ProjectId;

use super::{
    PgStore,
    analytics::{EVENT_COLS, NOT_MOVED, SEGMENT_COLS, event_from_row, segment_from_row},
    tx::run_with_tx,
    values::Ts,
};
use crate::{
    CompactorLock, HotPartition, MovingEvent, Partition, SegmentCommit, SegmentRef, SegmentStore,
    StoreError, StoreResult,
};

/// Advisory lock namespace of the compactor (the first key of `pg_try_advisory_lock(int, int)`).
const LOCK_COMPACTOR: i32 = 0x6770_0003;

/// The connection holding the compactor's lock.
struct Lease {
    client: Option<deadpool_postgres::Client>,
}

#[async_trait]
impl CompactorLock for Lease {
    async fn release(mut self: Box<Self>) {
        if let Some(c) = self.client.take() {
            let unlocked = c
                .query_one("SELECT pg_advisory_unlock($1, 0)", &[&LOCK_COMPACTOR])
                .await
                .map(|r| r.get::<_, bool>(0));
            if !matches!(unlocked, Ok(true)) {
                // Never hand a connection that may still hold the lock back to the pool.
                drop(deadpool_postgres::Object::take(c));
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            // Not released: closing the connection releases the lock.
            drop(deadpool_postgres::Object::take(c));
        }
    }
}

async fn commit(c: &impl GenericClient, commit: &SegmentCommit) -> StoreResult<SegmentRef> {
    let seg = &commit.segment;
    let project = seg.partition.project.0;
    let st = c
        .prepare_cached(
            "INSERT INTO event_segments
               (project_id, day, path, rows, bytes, min_timestamp, max_timestamp, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .await?;
    let id: i64 = c
        .query_one(
            &st,
            &[
                &project,
                &seg.partition.day,
                &seg.path,
                &(seg.rows as i64),
                &(seg.bytes as i64),
                &Ts(seg.min_timestamp_us),
                &Ts(seg.max_timestamp_us),
                &Ts(commit.now_us),
            ],
        )
        .await?
        .get(0);
    if !commit.moved.is_empty() {
        let sent: Vec<i64> = commit.moved.iter().map(|k| k.sent_ts).collect();
        let uuids: Vec<uuid::Uuid> = commit.moved.iter().map(|k| k.uuid).collect();
        let created: Vec<Ts> = commit.moved.iter().map(|k| Ts(k.created_at_us)).collect();
        let st = c
            .prepare_cached(
                "DELETE FROM events e USING unnest($2::int8[], $3::uuid[]) AS x(s, u)
                 WHERE e.project_id = $1 AND e.sent_ts = x.s AND e.uuid = x.u",
            )
            .await?;
        let deleted = c.execute(&st, &[&project, &sent, &uuids]).await?;
        if deleted != commit.moved.len() as u64 {
            return Err(StoreError::NotFound);
        }
        let st = c
            .prepare_cached(
                "INSERT INTO moved_event_keys (project_id, sent_ts, uuid, created_at)
                 SELECT $1, s, u, t FROM unnest($2::int8[], $3::uuid[], $4::timestamptz[]) AS x(s, u, t)
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        c.execute(&st, &[&project, &sent, &uuids, &created]).await?;
    }
    // Retries that raced an earlier compaction of their original (see `analytics.rs`), in this
    // segment's day: a retry carries its original's time. Every read already leaves such a row
    // out, so one of another day waits for that day's commit. This probes the day's few
    // remaining events by key; the join it replaces read every moved key of the dedup window
    // (EXPLAIN ANALYZE with 2M keys and 15k hot events: 1,671 ms a commit, against 1.1 ms), and
    // compaction fell 820 s behind a 3M-event load.
    let st = c
        .prepare_cached(
            "DELETE FROM events e
             WHERE e.project_id = $1 AND e.timestamp >= $2 AND e.timestamp < $3
               AND EXISTS (SELECT 1 FROM moved_event_keys k
                           WHERE k.project_id = $1 AND k.sent_ts = e.sent_ts AND k.uuid = e.uuid)",
        )
        .await?;
    c.execute(
        &st,
        &[
            &project,
            &Ts(seg.partition.start_us()),
            &Ts(seg.partition.end_us()),
        ],
    )
    .await?;
    if !commit.replaces.is_empty() {
        let st = c
            .prepare_cached("DELETE FROM event_segments WHERE project_id = $1 AND id = ANY($2)")
            .await?;
        if c.execute(&st, &[&project, &commit.replaces]).await? != commit.replaces.len() as u64 {
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

#[async_trait]
impl SegmentStore for PgStore {
    fn default_data_dir(&self) -> (String, String) {
        let dir = std::env::current_dir()
            .map(|d| d.join("groupd-segments"))
            .unwrap_or_else(|_| "groupd-segments".into());
        let dir = dir.display().to_string();
        (dir.clone(), dir)
    }

    async fn claim_data_dir(&self, data_dir: &str) -> StoreResult<String> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO segment_settings (name, value) VALUES ('data_dir', $1) ON CONFLICT DO NOTHING",
            &[&data_dir],
        )
        .await?;
        Ok(c.query_one(
            "SELECT value FROM segment_settings WHERE name = 'data_dir'",
            &[],
        )
        .await?
        .get(0))
    }

    async fn try_lock_compactor(
        &self,
        _now_us: i64,
    ) -> StoreResult<Option<Box<dyn CompactorLock>>> {
        let c = self.client().await?;
        let taken: bool = c
            .query_one("SELECT pg_try_advisory_lock($1, 0)", &[&LOCK_COMPACTOR])
            .await?
            .get(0);
        Ok(taken.then(|| Box::new(Lease { client: Some(c) }) as Box<dyn CompactorLock>))
    }

    async fn hot_partitions(&self, before_us: i64) -> StoreResult<Vec<HotPartition>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT project_id, floor(extract(epoch FROM timestamp) / 86400)::int8, count(*)
                 FROM events WHERE created_at < $1 GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .await?;
        Ok(c.query(&st, &[&Ts(before_us)])
            .await?
            .iter()
            .map(|r| HotPartition {
                partition: Partition {
                    project: ProjectId(r.get(0)),
                    day: r.get(1),
                },
                rows: r.get::<_, i64>(2).max(0) as u64,
            })
            .collect())
    }

    async fn events_to_move(
        &self,
        partition: Partition,
        before_us: i64,
        limit: usize,
    ) -> StoreResult<Vec<MovingEvent>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {EVENT_COLS}, e.sent_ts FROM events e
                 WHERE e.project_id = $1 AND e.timestamp >= $2 AND e.timestamp < $3
                   AND e.created_at < $4 AND {NOT_MOVED}
                 ORDER BY e.timestamp, e.uuid LIMIT $5"
            ))
            .await?;
        Ok(c.query(
            &st,
            &[
                &partition.project.0,
                &Ts(partition.start_us()),
                &Ts(partition.end_us()),
                &Ts(before_us),
                &(limit as i64),
            ],
        )
        .await?
        .iter()
        .map(|r| MovingEvent {
            sent_ts: r.get(7),
            event: event_from_row(r),
        })
        .collect())
    }

    async fn partition_segments(&self, partition: Partition) -> StoreResult<Vec<SegmentRef>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {SEGMENT_COLS} FROM event_segments WHERE project_id = $1 AND day = $2
                 ORDER BY id"
            ))
            .await?;
        Ok(c.query(&st, &[&partition.project.0, &partition.day])
            .await?
            .iter()
            .map(segment_from_row)
            .collect())
    }

    async fn fragmented_partitions(&self, below_rows: u64) -> StoreResult<Vec<Partition>> {
        let below = i64::try_from(below_rows).unwrap_or(i64::MAX);
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT project_id, day FROM event_segments WHERE rows < $1
                 GROUP BY project_id, day HAVING count(*) > 1 ORDER BY project_id, day",
            )
            .await?;
        Ok(c.query(&st, &[&below])
            .await?
            .iter()
            .map(|r| Partition {
                project: ProjectId(r.get(0)),
                day: r.get(1),
            })
            .collect())
    }

    async fn segment_paths(&self) -> StoreResult<Vec<String>> {
        let c = self.client().await?;
        Ok(c.query("SELECT path FROM event_segments", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    async fn commit_segment(&self, c: SegmentCommit) -> StoreResult<SegmentRef> {
        run_with_tx!(self.pool, |tx| commit(&tx, &c).await)
    }

    async fn reclaim_moved(&self) -> StoreResult<()> {
        // Outside any transaction (VACUUM refuses to run in one); measured at 100k moved events:
        // a count by event went from 392 to 210 ms (debug build) once the dead rows were gone.
        let c = self.client().await?;
        c.batch_execute("VACUUM events").await?;
        Ok(())
    }

    async fn prune_moved_keys(&self, before_us: i64) -> StoreResult<u64> {
        let c = self.client().await?;
        Ok(c.execute(
            "DELETE FROM moved_event_keys WHERE created_at < $1",
            &[&Ts(before_us)],
        )
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use groupd_core::ProjectId;
    use tokio_postgres::NoTls;

    use crate::{
        IngestBatch, MovedKey, NewSegment, Partition, SegmentCommit,
        conformance::{SEC, T0, event, pg},
    };

    /// A retry that raced the compaction of its original (checked the moved keys before the
    /// commit, inserted after it) is in neither the snapshot nor, after the next commit, the row
    /// store.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_retry_that_raced_its_compaction_is_left_out_then_removed() {
        let Some(db) = pg::open().await else { return };
        let s = db.store.clone();
        let p: ProjectId = crate::conformance::project(&s).await;
        let a = event("a", uuid::Uuid::new_v4(), Some(T0), &[]);
        let b = event("b", uuid::Uuid::new_v4(), Some(T0 + SEC), &[]);
        let batch = IngestBatch {
            source: Default::default(),
            events: vec![a, b],
            max_group_types: 5,
            now_us: T0,
        };
        s.ingest(p, batch).await.unwrap();
        let part = Partition::of(p, T0);
        let all = s.events_to_move(part, i64::MAX, 10).await.unwrap();
        let first = &all[0];
        let commit = |m: &crate::MovingEvent, path: &str| SegmentCommit {
            segment: NewSegment {
                partition: part,
                path: path.into(),
                rows: 1,
                bytes: 1,
                min_timestamp_us: m.event.timestamp_us,
                max_timestamp_us: m.event.timestamp_us,
            },
            moved: vec![MovedKey {
                sent_ts: m.sent_ts,
                uuid: m.event.uuid,
                created_at_us: m.event.created_at_us,
            }],
            replaces: vec![],
            now_us: T0,
        };
        s.commit_segment(commit(first, "1.parquet")).await.unwrap();
        // The raced retry, as the insert that checked the keys too early leaves it: the same
        // event, so of the same time.
        let (client, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        client
            .execute(
                "INSERT INTO events (project_id, sent_ts, uuid, event, distinct_id, timestamp,
                                     created_at, properties, group_keys)
                 SELECT project_id, sent_ts, uuid, 'a', 'd1', to_timestamp($2::int8 / 1e6), now(),
                        '{}', '{}'
                 FROM moved_event_keys WHERE project_id = $1",
                &[&p.0, &T0],
            )
            .await
            .unwrap();
        let hot: Vec<_> = s.events_snapshot(p, None).await.unwrap().hot;
        assert_eq!(hot.len(), 1);
        assert_eq!(hot[0].event, "b");
        let rest = s.events_to_move(part, i64::MAX, 10).await.unwrap();
        assert_eq!(rest.len(), 1);
        s.commit_segment(commit(&rest[0], "2.parquet"))
            .await
            .unwrap();
        let left: i64 = client
            .query_one("SELECT count(*) FROM events WHERE project_id = $1", &[&p.0])
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0);
        drop(client);
        let _ = task.await;
    }
}
