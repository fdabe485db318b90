//! Runs the shared execution suite on PostgreSQL: creates a uniquely named database on the
//! local server, seeds it, runs every case, drops it. Set `GROUPD_TEST_DATABASE_URL` to point
//! at another server (default `postgres://postgres@127.0.0.1:5432/postgres`); when no server
//! answers the test says so and passes.

mod common;

use common::{EVENTS, GROUPS, Out, Runner, ctx, finish};
use groupd_hogql::{Dialect, Param, SqlValue, to_json, translate};
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

fn base_url() -> String {
    std::env::var("GROUPD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn connect(url: &str) -> Option<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(client)
}

fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if !url[..i].ends_with('/') => format!("{}/{db}", &url[..i]),
        _ => format!("{url}/{db}"),
    }
}

async fn seed(c: &Client) {
    c.batch_execute(
        "CREATE TABLE groups(project_id BIGINT NOT NULL, group_type_index INT NOT NULL, group_key TEXT NOT NULL,
            id BIGSERIAL PRIMARY KEY, properties JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL, deleted BOOLEAN NOT NULL DEFAULT FALSE);
         CREATE TABLE events(project_id BIGINT NOT NULL, uuid UUID NOT NULL, event TEXT NOT NULL, distinct_id TEXT NOT NULL,
            timestamp TIMESTAMPTZ NOT NULL, created_at TIMESTAMPTZ NOT NULL, properties JSONB NOT NULL, group_keys TEXT[] NOT NULL);",
    )
    .await
    .unwrap();
    for (p, i, k, props, at) in GROUPS {
        let i = *i as i32;
        c.execute(
            "INSERT INTO groups(project_id, group_type_index, group_key, properties, created_at, updated_at)
             VALUES ($1, $2, $3, $4::text::jsonb, $5::text::timestamptz, $5::text::timestamptz)",
            &[p, &i, k, props, at],
        )
        .await
        .unwrap();
    }
    for (p, u, e, d, ts, props, gk) in EVENTS {
        let uuid: String = format!("{:02x}", u).repeat(16);
        c.execute(
            "INSERT INTO events VALUES ($1, $2::text::uuid, $3, $4, $5::text::timestamptz, $5::text::timestamptz,
             $6::text::jsonb, ARRAY(SELECT jsonb_array_elements_text($7::text::jsonb)))",
            &[p, &uuid, e, d, ts, props, gk],
        )
        .await
        .unwrap();
    }
}

struct Pg<'a> {
    rt: &'a Runtime,
    client: &'a Client,
}

impl Runner for Pg<'_> {
    fn run(&mut self, q: &str) -> Out {
        let t = translate(q, Dialect::Postgres, &ctx()).unwrap_or_else(|e| panic!("{q}: {e}"));
        let params: Vec<Box<dyn ToSql + Sync>> = t
            .params
            .iter()
            .map(|p| -> Box<dyn ToSql + Sync> {
                match p {
                    Param::Null => Box::new(Option::<String>::None),
                    Param::Int(i) => Box::new(*i),
                    Param::Float(f) => Box::new(*f),
                    Param::Text(s) => Box::new(s.clone()),
                }
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref()).collect();
        let rows = self
            .rt
            .block_on(self.client.query(&t.sql, &refs))
            .unwrap_or_else(|e| panic!("{q}\n{}\n{e:?}", t.sql));
        let out = rows
            .iter()
            .map(|r| {
                let cells = (0..t.columns.len())
                    .map(|i| {
                        let ty = r.columns()[i].type_();
                        let v = if *ty == Type::INT8 {
                            r.get::<_, Option<i64>>(i).map(SqlValue::Int)
                        } else if *ty == Type::FLOAT8 {
                            r.get::<_, Option<f64>>(i).map(SqlValue::Float)
                        } else if *ty == Type::TEXT {
                            r.get::<_, Option<String>>(i).map(SqlValue::Text)
                        } else {
                            panic!("{q}: column {i} has type {ty}; the emitter promises int8/float8/text")
                        };
                        to_json(&t.types[i], v.unwrap_or(SqlValue::Null))
                    })
                    .collect();
                Value::Array(cells)
            })
            .collect();
        finish(&t, out)
    }
}

#[test]
fn the_execution_suite_passes_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = base_url();
    let Some(admin) = rt.block_on(connect(&url)) else {
        eprintln!("skipped: no PostgreSQL at {url} (set GROUPD_TEST_DATABASE_URL)");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let db = format!("groupd_hogql_test_{}_{nanos}", std::process::id());
    rt.block_on(admin.batch_execute(&format!("CREATE DATABASE {db}")))
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let client = rt
            .block_on(connect(&with_db(&url, &db)))
            .expect("connect to test db");
        rt.block_on(seed(&client));
        // A session time zone other than UTC must not change any result.
        rt.block_on(client.batch_execute("SET TIME ZONE 'America/New_York'"))
            .unwrap();
        let mut pg = Pg {
            rt: &rt,
            client: &client,
        };
        for (name, case) in common::ALL {
            eprintln!("case {name}");
            case(&mut pg);
        }
        // PostgreSQL is strict about types: every grammar item must run, not just translate,
        // and so must every mutation of a valid query that still translates.
        for q in common::ACCEPTED {
            pg.run(q);
        }
        // …and give the same rows as SQLite.
        let mut lite = common::Sqlite(common::db());
        let mut ran = 0;
        for q in mutations(6000) {
            if translate(&q, Dialect::Postgres, &ctx()).is_ok() {
                let a = pg.run(&q);
                let b = lite.run(&q);
                ran += 1;
                if a.has_more || b.has_more || q.contains("OFFSET") || q.contains("any(") {
                    continue;
                }
                let mut ra: Vec<String> = a.rows.iter().map(canonical).collect();
                let mut rb: Vec<String> = b.rows.iter().map(canonical).collect();
                // Ties may come in any order; the suite above pins ordering itself.
                ra.sort();
                rb.sort();
                assert_eq!(ra, rb, "PostgreSQL and SQLite disagree on {q}");
            }
        }
        assert!(ran > 50, "only {ran} mutations translated");
    }));
    let _ = rt.block_on(admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")));
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Deterministic mutations of the seed queries: token deletions, insertions, swaps.
fn mutations(n: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m.max(1) as u64) as usize
    };
    let mut out = Vec::new();
    for _ in 0..n {
        let k = next(common::SEEDS.len() + common::ACCEPTED.len());
        let seed = common::SEEDS
            .get(k)
            .copied()
            .unwrap_or_else(|| common::ACCEPTED[k - common::SEEDS.len()]);
        let mut toks: Vec<String> = seed.split(' ').map(str::to_string).collect();
        for _ in 0..1 + next(4) {
            let i = next(toks.len());
            match next(3) {
                0 => {
                    toks.remove(i);
                }
                1 => toks.insert(i, common::VOCAB[next(common::VOCAB.len())].to_string()),
                _ => {
                    let j = next(toks.len());
                    toks.swap(i, j);
                }
            }
            if toks.is_empty() {
                break;
            }
        }
        out.push(toks.join(" "));
    }
    out
}

/// A row as text with JSON object keys sorted (jsonb reorders keys) and JSON-text cells parsed.
fn canonical(v: &Value) -> String {
    match v {
        Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
            match serde_json::from_str::<Value>(s) {
                Ok(j) => format!("json:{}", canonical(&j)),
                Err(_) => v.to_string(),
            }
        }
        Value::Object(m) => {
            let mut kv: Vec<(String, String)> =
                m.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            kv.sort();
            let inner: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}
