//! Two `groupd serve` processes on one PostgreSQL database, written to at the same time through
//! both: the end state must be exactly what the merge rules give (no lost update, no duplicate
//! group, no duplicate type index). PostgreSQL target only (`api_pg`); on SQLite it returns at once.
use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::helpers::{ApiClient, Backend, TestDb, TestServer, backend, read};

const CAPTURE_THREADS: usize = 4;
const BATCHES: usize = 20;
const PER_BATCH: usize = 10;
const GROUPS: usize = 4;
const REST_WRITES: usize = 30;
/// 2026-01-01T00:00:00Z in ms: every capture op's time is in the past, and distinct.
const BASE_MS: i64 = 1_767_225_600_000;

/// One `$groupidentify` as sent.
#[derive(Clone, Copy)]
struct Op {
    id: i64,
    thread: usize,
    group: usize,
    time_ms: i64,
}

fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days from 2026-01-01; the ops span well under a month.
    let day0 = (BASE_MS / 1000).div_euclid(86_400);
    format!(
        "2026-01-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + days - day0,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

fn send(client: &Client, base: &str, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    for _ in 0..50 {
        let mut req = client.post(format!("{base}{path}")).json(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let got = read(req.send().expect("request"));
        // The write queue may ask for a retry; SDKs do that.
        if got.0 != 503 {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{path}: 503 fifty times");
}

#[test]
fn two_servers_writing_the_same_groups_end_in_the_merge_result() {
    if backend() != Backend::Postgres {
        return;
    }
    let db = TestDb::new();
    let project = db.cli_create_project("multi");
    let token = project["api_token"].as_str().unwrap().to_owned();
    let pid = project["id"].as_i64().unwrap();
    let key = db.cli_create_key("writer", "*", &[]);
    let servers = [TestServer::start(&db, &[]), TestServer::start(&db, &[])];
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let total = (CAPTURE_THREADS * BATCHES * PER_BATCH) as i64;
    // Times are a permutation of the op ids, so arrival order is not time order.
    assert_eq!(gcd(37, total), 1);
    let sent: Arc<Mutex<Vec<Op>>> = Arc::default();
    let rest_last: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    std::thread::scope(|scope| {
        for thread in 0..CAPTURE_THREADS {
            let (client, base, token, sent) = (
                client.clone(),
                bases[thread % 2].clone(),
                token.clone(),
                sent.clone(),
            );
            scope.spawn(move || {
                for b in 0..BATCHES {
                    let mut batch = Vec::new();
                    let mut ops = Vec::new();
                    for e in 0..PER_BATCH {
                        let id = ((thread * BATCHES + b) * PER_BATCH + e) as i64;
                        let op = Op {
                            id,
                            thread,
                            group: (id as usize * 7 + thread) % GROUPS,
                            time_ms: BASE_MS + (id * 37) % total,
                        };
                        batch.push(json!({
                            "event": "$groupidentify", "distinct_id": format!("w{thread}"),
                            "uuid": uuid::Uuid::new_v4().to_string(), "timestamp": rfc3339(op.time_ms),
                            "properties": {
                                "$group_type": "company", "$group_key": format!("g{}", op.group),
                                "$group_set": {"p": id, format!("w{thread}"): id},
                                "$group_set_once": {"once": id},
                            },
                        }));
                        // Group types appear through `$groups` concurrently on both servers.
                        let mut names = ["t1", "t2", "t3"];
                        names.rotate_left((id as usize) % 3);
                        let groups: serde_json::Map<String, Value> =
                            names.iter().map(|n| ((*n).to_owned(), json!("k"))).collect();
                        batch.push(json!({
                            "event": "pageview", "distinct_id": format!("w{thread}"),
                            "properties": {"$groups": groups},
                        }));
                        ops.push(op);
                    }
                    let got = send(&client, &base, "/batch/", None, &json!({"api_key": token, "batch": batch}));
                    assert_eq!(got.0, 200, "{}", got.1);
                    sent.lock().unwrap().extend(ops);
                }
            });
        }
        // REST writers, one per server: their own property and a shared one, on every group.
        for (s, base) in bases.iter().enumerate() {
            let (client, base, key, rest_last) =
                (client.clone(), base.clone(), key.clone(), rest_last.clone());
            scope.spawn(move || {
                for n in 0..REST_WRITES as i64 {
                    let g = n as usize % GROUPS;
                    let path = format!("/api/projects/{pid}/groups/update_property?group_type_index=0&group_key=g{g}");
                    for (prop, value) in [(format!("r{s}"), n), ("shared".to_owned(), 1000 * s as i64 + n)] {
                        let got = send(&client, &base, &path, Some(&key), &json!({"key": prop, "value": value}));
                        // The group may not exist yet (capture creates it): then nothing changed.
                        assert!(got.0 == 200 || got.0 == 404, "{got:?}");
                        if got.0 == 200 {
                            rest_last.lock().unwrap().insert(format!("{prop}/g{g}/{s}"), value);
                        }
                    }
                }
            });
        }
    });

    // Type indexes: unique and exactly 0..N.
    let apis: Vec<ApiClient> = bases
        .iter()
        .map(|b| ApiClient::for_server(b, &key, pid))
        .collect();
    let (status, types) = apis[0].list_types();
    assert_eq!(status, 200, "{types}");
    let mut indexes: Vec<i64> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["group_type_index"].as_i64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..4).collect::<Vec<_>>(), "{types}");
    let company = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["group_type"] == "company")
        .expect("the company type")["group_type_index"]
        .as_i64()
        .unwrap();

    // Exactly one row per group, straight from the database.
    let mut pg = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let rows = pg
        .query(
            "SELECT group_type_index, group_key, count(*) FROM groups GROUP BY 1, 2 ORDER BY 1, 2",
            &[],
        )
        .unwrap();
    let counts: Vec<(i32, String, i64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(counts.len(), GROUPS, "{counts:?}");
    assert!(
        counts.iter().all(|c| c.2 == 1 && i64::from(c.0) == company),
        "{counts:?}"
    );

    // The properties are exactly the merge result of everything sent.
    let ops = sent.lock().unwrap().clone();
    assert_eq!(ops.len() as i64, total);
    let rest_last = rest_last.lock().unwrap().clone();
    for g in 0..GROUPS {
        let mine: Vec<&Op> = ops.iter().filter(|o| o.group == g).collect();
        let latest = |f: &dyn Fn(&Op) -> bool| {
            mine.iter()
                .filter(|o| f(o))
                .max_by_key(|o| o.time_ms)
                .map(|o| o.id)
        };
        let mut want: BTreeMap<String, Value> = BTreeMap::new();
        want.insert("p".into(), json!(latest(&|_| true).unwrap()));
        want.insert(
            "once".into(),
            json!(mine.iter().min_by_key(|o| o.time_ms).unwrap().id),
        );
        for t in 0..CAPTURE_THREADS {
            if let Some(id) = latest(&|o| o.thread == t) {
                want.insert(format!("w{t}"), json!(id));
            }
        }
        for s in 0..2 {
            if let Some(v) = rest_last.get(&format!("r{s}/g{g}/{s}")) {
                want.insert(format!("r{s}"), json!(v));
            }
        }
        let (status, body) = apis[g % 2].find(company, &format!("g{g}"));
        assert_eq!(status, 200, "{body}");
        let mut got: BTreeMap<String, Value> = body["group_properties"]
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .collect();
        // `shared` is last-writer-wins between the two REST writers: one of their last values.
        if let Some(shared) = got.remove("shared") {
            let candidates: Vec<Value> = (0..2)
                .filter_map(|s| rest_last.get(&format!("shared/g{g}/{s}")).map(|v| json!(v)))
                .collect();
            assert!(
                candidates.contains(&shared),
                "g{g}: shared {shared} not in {candidates:?}"
            );
        }
        assert_eq!(got, want, "group g{g}");
        let first = mine.iter().map(|o| o.time_ms).min().unwrap();
        assert_eq!(
            body["created_at"],
            json!(groupd_core::time_fmt::format_us(first * 1000)),
            "group g{g}"
        );
    }
    drop(servers);
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}
