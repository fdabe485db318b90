//! The segment writer and the compactor, on both backends: nothing lost or doubled, deduplication
//! across the move, crash safety, merging, one compactor.
use std::{sync::Arc, time::Duration};

use datafusion::{arrow::array::RecordBatch, object_store::ObjectStore};
use futures::TryStreamExt;
use groupd_core::{ProjectId, capture::CaptureEvent};
use groupd_store::{
    DAY_US, IngestBatch, NewProject, Partition, Store, StoredEvent,
    conformance::{pg, sqlite},
};

use super::{
    CompactionConfig, Compactor, DataDir, segment_store,
    writer::{Effort, encode, from_batch, put_segment, read_segments, sort_by_time, to_batch},
};
use crate::schema::events_schema;

/// 2026-05-01T00:00:00Z.
const T0: i64 = 1_777_593_600_000_000;
const SEC: i64 = 1_000_000;

/// A small deterministic generator (xorshift), so the size figures repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Events shaped like a web SDK's: about 350 bytes of properties, skewed names and groups.
fn sdk_events(n: usize, seed: u64) -> Vec<StoredEvent> {
    let mut rng = Rng(seed | 1);
    let names = [
        "$pageview",
        "$pageview",
        "$pageview",
        "$autocapture",
        "signed_up",
        "purchase",
    ];
    let browsers = ["Chrome", "Firefox", "Safari", "Edge"];
    let sources = ["google", "newsletter", "twitter", ""];
    (0..n)
        .map(|i| {
            let company = rng.below(10_000).min(rng.below(10_000));
            let user = rng.below(50_000);
            // A session is one user's hour, as an SDK's session id is shared by its events.
            let session = uuid::Uuid::from_u64_pair(user.wrapping_mul(0x9e37_79b9_7f4a_7c15), (i / (n / 24).max(1)) as u64 | 0x4000_0000_0000);
            let props = format!(
                r#"{{"$lib":"web","$lib_version":"1.{}.0","$browser":"{}","$os":"Mac OS X","$device_type":"Desktop","$current_url":"https://app.example.com/p/{}","$host":"app.example.com","$pathname":"/p/{}","$screen_height":{},"$screen_width":1920,"$session_id":"{}","utm_source":"{}","amount":{}.{:02},"$groups":{{"company":"company-{company}"}}}}"#,
                rng.below(200),
                browsers[rng.below(4) as usize],
                rng.below(500),
                rng.below(500),
                700 + rng.below(500),
                session,
                sources[rng.below(4) as usize],
                rng.below(100),
                rng.below(100),
            );
            StoredEvent {
                uuid: uuid::Uuid::from_u64_pair(rng.next(), rng.next()),
                event: names[rng.below(names.len() as u64) as usize].into(),
                distinct_id: format!("user-{user}"),
                timestamp_us: T0 + i as i64 * 86_400 * SEC / n as i64,
                created_at_us: T0 + i as i64 * 86_400 * SEC / n as i64 + 200_000,
                properties: props,
                group_keys: vec![format!("company-{company}")],
            }
        })
        .collect()
}

fn rows_of(batch: &RecordBatch) -> Vec<StoredEvent> {
    from_batch(batch).unwrap()
}

#[tokio::test]
async fn a_segment_reads_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = segment_store(&DataDir::Local(dir.path().join("segs"))).unwrap();
    let mut events = sdk_events(1000, 7);
    events.reverse();
    let batch = sort_by_time(&to_batch(&events).unwrap()).unwrap();
    let part = Partition::of(ProjectId(3), T0);
    let seg = put_segment(store.as_ref(), part, &batch, Effort::Thorough)
        .await
        .unwrap();
    assert!(seg.path.starts_with("p3/2026-05-01/") && seg.path.ends_with(".parquet"));
    assert_eq!(seg.rows, 1000);
    assert_eq!(
        (seg.min_timestamp_us, seg.max_timestamp_us),
        (events[999].timestamp_us, events[0].timestamp_us)
    );
    let on_disk = std::fs::metadata(dir.path().join("segs").join(&seg.path)).unwrap();
    assert_eq!(on_disk.len(), seg.bytes);
    let back = read_segments(&store, &[seg.path]).await.unwrap();
    assert_eq!(back.schema(), events_schema());
    let mut want = events.clone();
    want.reverse();
    for e in &mut want {
        e.group_keys.resize(5, String::new());
    }
    assert_eq!(rows_of(&back), want);
}

/// Every `$group_N` column carries a bloom filter per row group (what lets a filter on a group key
/// skip row groups), small once folded: an all-empty column's costs next to nothing.
#[test]
fn group_key_columns_carry_bloom_filters() {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let events = sdk_events(20_000, 9);
    let bytes = bytes::Bytes::from(encode(&to_batch(&events).unwrap(), Effort::Thorough).unwrap());
    let reader = SerializedFileReader::new(bytes).unwrap();
    let rg = reader.metadata().row_group(0);
    let schema = events_schema();
    for (i, field) in schema.fields().iter().enumerate() {
        let col = rg.column(i);
        let is_group = field.name().starts_with("$group_");
        assert_eq!(
            col.bloom_filter_offset().is_some(),
            is_group,
            "bloom filter on {}",
            field.name()
        );
        if field.name() == "$group_4" {
            let len = col.bloom_filter_length().unwrap_or(0);
            assert!(len < 1024, "an empty column's filter is {len} bytes");
        }
    }
}

/// The size figure for the design note: bytes per million SDK-shaped events.
#[test]
fn segments_take_at_most_a_third_of_the_row_store() {
    let n = 200_000;
    let events = sdk_events(n, 42);
    let json: usize = events.iter().map(|e| e.properties.len()).sum();
    let batch = to_batch(&events).unwrap();
    // Both efforts: a day still being written is read in its quickly written segments.
    for effort in [Effort::Thorough, Effort::Quick] {
        let bytes = encode(&batch, effort).unwrap().len();
        let per_million = bytes as f64 * 1e6 / n as f64 / 1e6;
        eprintln!(
            "segment ({effort:?}): {per_million:.1} MB per million events ({} bytes of properties JSON per event)",
            json / n
        );
        assert!(per_million <= 66.0, "{effort:?}: {per_million:.1} MB/M");
    }
}

/// Two backends, one check.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::sqlite::open().await.unwrap();
                    super::$name(db.store.clone()).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::pg::open().await else { return };
                    super::$name(db.store.clone()).await;
                }
            )*
        }
    };
}

on_both!(
    compaction_moves_every_event_exactly_once,
    a_retry_after_compaction_is_still_a_duplicate,
    a_crash_before_the_commit_loses_nothing,
    small_segments_of_a_day_are_merged,
    a_day_left_in_pieces_by_a_stopped_process_is_merged_after_a_restart,
    a_day_being_written_merges_by_tiers,
    a_second_compactor_waits_its_turn,
);

struct Fixture {
    store: Arc<dyn Store>,
    segments: Arc<dyn ObjectStore>,
    _dir: tempfile::TempDir,
    project: ProjectId,
}

/// Test settings: everything received before now is old enough; no grace for orphans.
fn config() -> CompactionConfig {
    CompactionConfig {
        interval: Duration::ZERO,
        min_age: Duration::ZERO,
        orphan_grace: Duration::ZERO,
        sweep_every: Duration::ZERO,
        ..CompactionConfig::default()
    }
}

async fn fixture(store: Arc<dyn Store>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let segments = segment_store(&DataDir::Local(dir.path().to_owned())).unwrap();
    fixture_on(store, segments, dir).await
}

async fn fixture_on(
    store: Arc<dyn Store>,
    segments: Arc<dyn ObjectStore>,
    dir: tempfile::TempDir,
) -> Fixture {
    let project = store
        .create_project(
            NewProject {
                name: "p".into(),
                api_token: None,
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    Fixture {
        store,
        segments,
        _dir: dir,
        project,
    }
}

/// Capture events: `n` per day over `days` days, received at `T0 + days`.
fn capture(n: usize, days: i64) -> Vec<CaptureEvent> {
    (0..days)
        .flat_map(|d| {
            (0..n).map(move |i| {
                let t = T0 + d * DAY_US + i as i64 * SEC;
                CaptureEvent {
                    index: 0,
                    uuid: uuid::Uuid::new_v4(),
                    client_timestamp: Some(groupd_core::time_fmt::format_us(t)),
                    event: format!("e{}", i % 3),
                    distinct_id: format!("u{i}"),
                    timestamp_us: t,
                    received_at_us: T0 + days * DAY_US,
                    properties_json: format!(r#"{{"i":{i},"d":{d}}}"#),
                    groups: vec![("company".into(), format!("c{}", i % 5))],
                    process_person_profile: true,
                    group_identify: None,
                }
            })
        })
        .collect()
}

impl Fixture {
    async fn ingest(&self, events: Vec<CaptureEvent>) -> groupd_store::IngestSummary {
        self.store
            .ingest(
                self.project,
                IngestBatch {
                    source: Default::default(),
                    events,
                    max_group_types: 5,
                    now_us: T0,
                },
            )
            .await
            .unwrap()
    }

    fn compactor(&self, config: CompactionConfig) -> Compactor {
        Compactor::new(self.store.clone(), self.segments.clone(), config)
    }

    /// Every event the project has, from its segments and hot tail, sorted by uuid.
    async fn all_events(&self) -> (Vec<StoredEvent>, usize) {
        let snap = self
            .store
            .events_snapshot(self.project, None)
            .await
            .unwrap();
        let paths: Vec<String> = snap.segments.iter().map(|s| s.path.clone()).collect();
        let mut all = snap.hot.clone();
        if !paths.is_empty() {
            let batch = read_segments(&self.segments, &paths).await.unwrap();
            let listed: u64 = snap.segments.iter().map(|s| s.rows).sum();
            assert_eq!(batch.num_rows() as u64, listed, "the catalog's row counts");
            all.extend(rows_of(&batch));
        }
        for e in &mut all {
            e.group_keys.resize(5, String::new());
            // PostgreSQL keeps properties as jsonb: compare them as values.
            let v: serde_json::Value = serde_json::from_str(&e.properties).unwrap();
            e.properties = v.to_string();
        }
        all.sort_by_key(|e| e.uuid);
        (all, snap.hot.len())
    }

    async fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .segments
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        v.sort();
        v
    }
}

const NOW: i64 = T0 + 10 * DAY_US;

async fn compaction_moves_every_event_exactly_once(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.ingest(capture(50, 3)).await;
    let (before, hot) = f.all_events().await;
    assert_eq!((before.len(), hot), (150, 150));
    let report = f.compactor(config()).run_once(NOW).await.unwrap();
    assert_eq!((report.segments_written, report.events_moved), (3, 150));
    let (after, hot) = f.all_events().await;
    assert_eq!(hot, 0);
    assert_eq!(after, before);
    let snap = f.store.events_snapshot(f.project, None).await.unwrap();
    assert_eq!(snap.segments.len(), 3);
    assert_eq!(f.files().await.len(), 3);
    // The pruning hint keeps the days that may match.
    let last_day = f
        .store
        .events_snapshot(f.project, Some(T0 + 2 * DAY_US))
        .await
        .unwrap();
    assert_eq!(last_day.segments.len(), 1);
    // Events received after the cutoff stay in the row store until old enough.
    let late = capture(5, 11);
    f.ingest(late[..5].to_vec()).await;
    let r = f.compactor(config()).run_once(NOW).await.unwrap();
    assert_eq!(r.events_moved, 0);
    assert_eq!(f.all_events().await.1, 5);
}

async fn a_retry_after_compaction_is_still_a_duplicate(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let events = capture(20, 1);
    f.ingest(events.clone()).await;
    // Within the dedup window of the events' receipt (T0 + 1 day).
    let within = T0 + 2 * DAY_US;
    f.compactor(config()).run_once(within).await.unwrap();
    let sum = f.ingest(events.clone()).await;
    assert_eq!((sum.stored, sum.duplicates), (0, 20));
    let (all, hot) = f.all_events().await;
    assert_eq!((all.len(), hot), (20, 0));
    // Past the dedup window (received at T0 + 1 day, window 7 days) the keys are forgotten.
    let r = f
        .compactor(config())
        .run_once(T0 + 8 * DAY_US + 1)
        .await
        .unwrap();
    assert_eq!(r.keys_forgotten, 20);
    assert_eq!(f.ingest(events).await.stored, 20);
}

async fn a_crash_before_the_commit_loses_nothing(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.ingest(capture(30, 1)).await;
    let (before, _) = f.all_events().await;
    // A compaction that wrote its segment and died before its transaction committed.
    let part = Partition::of(f.project, T0);
    let moving = f.store.events_to_move(part, NOW, 100).await.unwrap();
    let events: Vec<_> = moving.into_iter().map(|m| m.event).collect();
    let batch = sort_by_time(&to_batch(&events).unwrap()).unwrap();
    let orphan = put_segment(f.segments.as_ref(), part, &batch, Effort::Quick)
        .await
        .unwrap();
    // Readers see none of it; the events are all still in the row store.
    assert_eq!(f.all_events().await, (before.clone(), 30));
    // The next run removes the orphan and moves the events once.
    let r = f.compactor(config()).run_once(NOW).await.unwrap();
    assert_eq!((r.files_removed, r.events_moved), (1, 30));
    let files = f.files().await;
    assert_eq!(files.len(), 1);
    assert!(!files.contains(&orphan.path));
    assert_eq!(f.all_events().await, (before, 0));
}

/// Ten events per segment, merged into segments of at most 20.
fn ten_per_segment() -> CompactionConfig {
    CompactionConfig {
        batch_rows: 10,
        merge_rows: 20,
        ..config()
    }
}

async fn small_segments_of_a_day_are_merged(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.ingest(capture(25, 1)).await;
    let (before, _) = f.all_events().await;
    let small = ten_per_segment();
    let first = f.compactor(small);
    // While the day is written, three segments of one tier wait for a fourth.
    let r = first.run_once(NOW).await.unwrap();
    assert_eq!((r.segments_written, r.segments_merged), (3, 0));
    // A run that writes nothing to the day merges it whole.
    let r = first.run_once(NOW).await.unwrap();
    assert_eq!((r.segments_written, r.segments_merged), (0, 2));
    let snap = f.store.events_snapshot(f.project, None).await.unwrap();
    let mut rows: Vec<u64> = snap.segments.iter().map(|s| s.rows).collect();
    rows.sort_unstable();
    assert_eq!(rows, [5, 20]);
    assert_eq!(f.all_events().await, (before.clone(), 0));
    // Another process's compactor: it sweeps the files the first one replaced; three more
    // events of the day make a third segment, merged with the others once the day is quiet.
    f.ingest(capture(3, 1)).await;
    let (before, _) = f.all_events().await;
    let second = f.compactor(config());
    let r = second.run_once(NOW).await.unwrap();
    assert_eq!(
        (r.files_removed, r.events_moved, r.segments_merged),
        (2, 3, 0)
    );
    let r = second.run_once(NOW).await.unwrap();
    assert_eq!(r.segments_merged, 3);
    assert_eq!(
        f.store
            .events_snapshot(f.project, None)
            .await
            .unwrap()
            .segments
            .len(),
        1
    );
    assert_eq!(f.all_events().await, (before, 0));
}

async fn a_day_left_in_pieces_by_a_stopped_process_is_merged_after_a_restart(
    store: Arc<dyn Store>,
) {
    let f = fixture(store).await;
    f.ingest(capture(25, 1)).await;
    let (before, _) = f.all_events().await;
    let small = ten_per_segment();
    // The process stops right after writing the day in three pieces.
    let r = f.compactor(small.clone()).run_once(NOW).await.unwrap();
    assert_eq!((r.segments_written, r.segments_merged), (3, 0));
    // A new process has written nothing, yet finds the day in pieces and merges it.
    let r = f.compactor(small).run_once(NOW).await.unwrap();
    assert_eq!((r.segments_written, r.segments_merged), (0, 2));
    let snap = f.store.events_snapshot(f.project, None).await.unwrap();
    assert_eq!(snap.segments.len(), 2);
    assert_eq!(f.all_events().await, (before, 0));
}

async fn a_second_compactor_waits_its_turn(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    f.ingest(capture(5, 1)).await;
    let held = f.store.try_lock_compactor(NOW).await.unwrap().unwrap();
    let r = f.compactor(config()).run_once(NOW).await.unwrap();
    assert!(r.skipped);
    assert_eq!(f.all_events().await.1, 5);
    held.release().await;
    let r = f.compactor(config()).run_once(NOW).await.unwrap();
    assert_eq!(r.events_moved, 5);
}

#[test]
fn data_dirs_parse() {
    assert_eq!(
        DataDir::parse("s3://bucket/a/b/").unwrap(),
        DataDir::S3 {
            bucket: "bucket".into(),
            prefix: "a/b".into()
        }
    );
    assert_eq!(
        DataDir::parse("s3://bucket").unwrap().recorded(),
        "s3://bucket"
    );
    assert!(DataDir::parse("s3:///x").is_err());
    assert!(DataDir::parse("gs://x").is_err());
    assert!(DataDir::parse("").is_err());
    let local = DataDir::parse("rel/dir").unwrap();
    assert!(std::path::Path::new(&local.recorded()).is_absolute());
}

/// Capture throughput in batches of 100 on SQLite, with the compactor idle and running (every
/// 100 ms, moving everything): the figure for the design note. A measurement, not a check:
/// `cargo nextest run -p groupd-analytics --run-ignored only -E 'test(throughput)'`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement"]
async fn capture_throughput_with_compaction_running() {
    const CLIENTS: usize = 8;
    const BATCHES: usize = 150;
    for running in [false, true, false, true] {
        let db = sqlite::open().await.unwrap();
        let f = Arc::new(fixture(db.store.clone()).await);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let compacting = running.then(|| {
            let (f, stop) = (Arc::clone(&f), Arc::clone(&stop));
            tokio::spawn(async move {
                let c = f.compactor(config());
                let mut moved = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    moved += c.run_once(NOW).await.unwrap().events_moved;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                moved
            })
        });
        let started = std::time::Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let f = Arc::clone(&f);
                tokio::spawn(async move {
                    for _ in 0..BATCHES {
                        let mut events = capture(100, 1);
                        for e in &mut events {
                            e.received_at_us = T0;
                        }
                        f.ingest(events).await;
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let moved = match compacting {
            Some(t) => t.await.unwrap(),
            None => 0,
        };
        let n = CLIENTS * BATCHES * 100;
        eprintln!(
            "compaction {}: {:.0} events/s ({n} events, {moved} moved meanwhile)",
            if running { "running" } else { "idle" },
            n as f64 / secs
        );
    }
}

/// The S3 path against an S3-compatible server: `GROUPD_TEST_S3_URL` (`s3://bucket`, the bucket
/// existing) with the `AWS_*` variables pointing at it; `.ci/run` starts moto's server for it.
/// Without the variable the test fails unless `GROUPD_SKIP_S3=1`.
#[cfg(feature = "s3")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_through_s3_loses_and_doubles_nothing() {
    let url = match std::env::var("GROUPD_TEST_S3_URL") {
        Ok(u) => u,
        Err(_) if std::env::var("GROUPD_SKIP_S3").as_deref() == Ok("1") => return,
        Err(_) => panic!("set GROUPD_TEST_S3_URL=s3://bucket (and AWS_*) or GROUPD_SKIP_S3=1"),
    };
    // A prefix of this run's own: the bucket may be shared.
    let url = format!(
        "{}/run-{}",
        url.trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    );
    let segments = segment_store(&DataDir::parse(&url).unwrap()).unwrap();
    let db = sqlite::open().await.unwrap();
    let f = fixture_on(db.store.clone(), segments, tempfile::tempdir().unwrap()).await;
    f.ingest(capture(40, 2)).await;
    let (before, _) = f.all_events().await;
    // A step that died before its commit, then a run: the orphan goes, every event moves once.
    let part = Partition::of(f.project, T0);
    let moving = f.store.events_to_move(part, NOW, 100).await.unwrap();
    let events: Vec<_> = moving.into_iter().map(|m| m.event).collect();
    let batch = sort_by_time(&to_batch(&events).unwrap()).unwrap();
    put_segment(f.segments.as_ref(), part, &batch, Effort::Quick)
        .await
        .unwrap();
    assert_eq!(f.files().await.len(), 1);
    let r = f.compactor(config()).run_once(NOW).await.unwrap();
    assert_eq!(
        (r.files_removed, r.events_moved, r.segments_written),
        (1, 80, 2)
    );
    assert_eq!(f.all_events().await, (before, 0));
    assert_eq!(f.files().await.len(), 2);
}

async fn a_day_being_written_merges_by_tiers(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let compactor = f.compactor(CompactionConfig {
        batch_rows: 10,
        ..config()
    });
    // Each run writes one more segment of ten events to the same day: the fourth of a tier
    // merges the four, so the day holds one segment per tier rather than one per run.
    let mut merged = vec![];
    for _ in 0..4 {
        f.ingest(capture(10, 1)).await;
        merged.push(compactor.run_once(NOW).await.unwrap().segments_merged);
    }
    assert_eq!(merged, [0, 0, 0, 4]);
    let snap = f.store.events_snapshot(f.project, None).await.unwrap();
    assert_eq!(
        snap.segments.iter().map(|s| s.rows).collect::<Vec<_>>(),
        [40]
    );
    let (events, hot) = f.all_events().await;
    assert_eq!((events.len(), hot), (40, 0));
}
