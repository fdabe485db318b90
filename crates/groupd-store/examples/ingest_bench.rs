//! The store's write path alone, in a release build: `$groupidentify` batches of new groups and of
//! updates through `Store::ingest`, then NDJSON-style import lines through `Store::import_groups`,
//! and the bytes per group of each table. No HTTP and no JSON decoding: an upper bound of what
//! `POST /batch/` can reach (bench/ingest.py measures that, against the server).
//!
//! cargo run --release -p groupd-store --features testsuite --example ingest_bench -- URL GROUPS
//!
//! URL is `sqlite://PATH` (a fresh file) or a `postgres://` URL of a database to create.
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use groupd_core::{ProjectId, capture::GroupIdentify};
use groupd_store::{
    IngestBatch, IngestSource, Store, StoreOptions,
    conformance::{SEC, T0, identify},
    exchange::{ImportBatch, ImportLine},
};
use serde_json::{Map, Value, json};

/// A small deterministic generator (xorshift64*), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Skewed: index i with weight ~ 1/(i+1).
    fn skewed<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let total: f64 = (1..=items.len()).map(|i| 1.0 / i as f64).sum();
        let mut x = (self.below(1 << 30) as f64 / (1u64 << 30) as f64) * total;
        for (i, it) in items.iter().enumerate() {
            x -= 1.0 / (i + 1) as f64;
            if x <= 0.0 {
                return it;
            }
        }
        items[0]
    }
}

const INDUSTRIES: &[&str] = &[
    "technology",
    "finance",
    "healthcare",
    "retail",
    "education",
    "manufacturing",
    "media",
    "energy",
    "logistics",
    "government",
];
const PLANS: &[&str] = &["free", "starter", "pro", "business", "enterprise"];
const COUNTRIES: &[&str] = &["US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "NL"];
const WORDS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "aperture",
];

/// 5-30 properties of mixed kinds, as bench/gen.py makes them.
fn properties(rng: &mut Rng, i: usize) -> Value {
    let mut p = Map::new();
    let w = |rng: &mut Rng| WORDS[rng.below(WORDS.len() as u64) as usize];
    p.insert("name".into(), json!(format!("{} {} {i}", w(rng), w(rng))));
    p.insert("industry".into(), json!(rng.skewed(INDUSTRIES)));
    p.insert("plan".into(), json!(rng.skewed(PLANS)));
    p.insert("seats".into(), json!(1 + rng.below(200)));
    p.insert("country".into(), json!(rng.skewed(COUNTRIES)));
    for _ in 0..rng.below(26) {
        let key = format!("custom_{}", rng.below(40));
        let v = match rng.below(100) {
            0..35 => json!(rng.skewed(WORDS)),
            35..60 => json!(rng.below(10_000)),
            60..75 => json!(rng.below(100_000) as f64 / 100.0),
            75..88 => json!(rng.below(2) == 0),
            88..95 => json!([rng.skewed(WORDS), rng.skewed(WORDS)]),
            _ => json!({"tier": rng.skewed(PLANS), "score": rng.below(100)}),
        };
        p.insert(key, v);
    }
    Value::Object(p)
}

fn now_us() -> i64 {
    use groupd_core::clock::Clock;
    groupd_core::clock::SystemClock.now_us()
}

fn key(i: usize) -> String {
    format!("g{i:07}")
}

/// Ingests `n` groups' identifies (1000 per batch, `conns` at once) dated from `t0`.
async fn load(s: &Arc<dyn Store>, p: ProjectId, n: usize, seed: u64, t0: i64, conns: usize) -> f64 {
    let batches: Vec<Vec<_>> = (0..n)
        .step_by(1000)
        .map(|start| {
            let mut rng = Rng(seed ^ (start as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            (start..(start + 1000).min(n))
                .map(|i| {
                    identify(
                        "company",
                        &key(i),
                        t0 + i as i64 * SEC,
                        properties(&mut rng, i),
                        json!({}),
                        &[],
                    )
                })
                .collect()
        })
        .collect();
    let batches = Arc::new(std::sync::Mutex::new(batches.into_iter()));
    let started = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..conns)
        .map(|_| {
            let (s, batches, done) = (s.clone(), batches.clone(), done.clone());
            tokio::spawn(async move {
                loop {
                    let Some(events) = batches.lock().unwrap().next() else {
                        return;
                    };
                    let k = events.len();
                    let now_us = now_us();
                    s.ingest(
                        p,
                        IngestBatch {
                            source: IngestSource::Capture,
                            events,
                            max_group_types: 5,
                            now_us,
                        },
                    )
                    .await
                    .expect("ingest");
                    done.fetch_add(k, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(done.load(Ordering::Relaxed), n);
    n as f64 / started.elapsed().as_secs_f64()
}

/// Bytes per table (indexes included), largest first.
async fn sizes(url: &str) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    if url.starts_with("postgres") {
        let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        for r in c
            .query(
                "SELECT c.relname::text, pg_total_relation_size(c.oid) FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'public' AND c.relkind = 'r'",
                &[],
            )
            .await
            .unwrap()
        {
            out.push((r.get(0), r.get(1)));
        }
    } else {
        let c = rusqlite::Connection::open(url.trim_start_matches("sqlite://")).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        let mut st = c
            .prepare(
                "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s
                 LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1",
            )
            .unwrap();
        for r in st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .unwrap()
        {
            let (name, size) = r.unwrap();
            let name = if name.starts_with("groups_fts") {
                "groups_fts".to_owned()
            } else {
                name
            };
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some(e) => e.1 += size,
                None => out.push((name, size)),
            }
        }
    }
    out.sort_by_key(|(_, s)| -s);
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("URL").clone();
    let n: usize = args.get(2).map_or(100_000, |s| s.parse().expect("GROUPS"));
    let conns: usize = args.get(3).map_or(4, |s| s.parse().expect("CONNS"));
    let s = groupd_store::open(&url, &StoreOptions::default())
        .await
        .expect("open");
    let empty: i64 = sizes(&url).await.iter().map(|t| t.1).sum();
    let p = groupd_store::conformance::project(&s).await;
    let create = load(&s, p, n, 42, T0, conns).await;
    println!("new groups: {create:.0} groups/s ({n} groups, {conns} at once, 1000 per batch)");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let tables = sizes(&url).await;
    let total: i64 = tables.iter().map(|t| t.1).sum::<i64>() - empty;
    let events: i64 = tables
        .iter()
        .filter(|t| t.0 == "events" || t.0 == "moved_event_keys")
        .map(|t| t.1)
        .sum();
    println!(
        "size: {:.0} bytes per group in all, {:.0} without the events table",
        total as f64 / n as f64,
        (total - events) as f64 / n as f64
    );
    for (name, size) in &tables {
        if *size as f64 / n as f64 >= 1.0 {
            println!("  {name:<32} {:>7.0}", *size as f64 / n as f64);
        }
    }
    let update = load(&s, p, n, 43, T0 + 20 * 86_400 * SEC, conns).await;
    println!("updates: {update:.0} groups/s");

    // Import into a second project: the same groups as `$set` lines, 100,000 per request.
    let p2 = groupd_store::conformance::project(&s).await;
    let mut lines = Vec::with_capacity(n);
    let mut rng = Rng(7);
    for i in 0..n {
        let Value::Object(set) = properties(&mut rng, i) else {
            unreachable!()
        };
        lines.push(ImportLine {
            line: i as u64 + 1,
            identify: GroupIdentify {
                group_type: "company".into(),
                group_key: key(i),
                set,
                set_once: Map::new(),
                unset: Vec::new(),
            },
            event_us: T0 + i as i64 * SEC,
            created_at_us: None,
        });
    }
    let started = Instant::now();
    let mut imported = 0;
    for chunk in lines.chunks(100_000) {
        let out = s
            .import_groups(ImportBatch {
                project: p2,
                lines: chunk.to_vec(),
                max_group_types: 5,
                now_us: now_us(),
                write: true,
                atomic: false,
            })
            .await
            .expect("import");
        imported += out.imported;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "import: {imported} lines in {secs:.1} s, {:.0} groups/s",
        n as f64 / secs
    );
}
