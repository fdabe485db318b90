//! Property tests: any text, random or mutated from valid queries, translates without
//! panicking; whatever translates is valid SQLite that runs, reads only bound parameters, and
//! scopes every table to the project.

mod common;

use std::cell::RefCell;

use common::{EVENTS, GROUPS, SEEDS, VOCAB, ctx, us};
use groupd_hogql::{Dialect, Param, translate};
use proptest::prelude::*;
use rusqlite::{Connection, params};

thread_local! {
    static DB: RefCell<Connection> = RefCell::new(seeded());
}

fn seeded() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE groups(id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, group_type_index INTEGER NOT NULL,
            group_key TEXT NOT NULL, properties TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
         CREATE TABLE events(project_id INTEGER NOT NULL, uuid BLOB NOT NULL, event TEXT NOT NULL, distinct_id TEXT NOT NULL,
            timestamp INTEGER NOT NULL, created_at INTEGER NOT NULL, properties TEXT NOT NULL, group_keys TEXT NOT NULL);",
    )
    .unwrap();
    for (p, i, k, props, at) in GROUPS {
        c.execute(
            "INSERT INTO groups(project_id, group_type_index, group_key, properties, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![p, i, k, props, us(at)],
        )
        .unwrap();
    }
    for (p, u, e, d, ts, props, gk) in EVENTS {
        c.execute(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
            params![p, vec![*u; 16], e, d, us(ts), props, gk],
        )
        .unwrap();
    }
    c
}

fn check(q: &str) {
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        let Ok(t) = translate(q, d, &ctx()) else {
            continue;
        };
        let tables = t.sql.matches("events AS ").count() + t.sql.matches("groups AS ").count();
        assert_eq!(
            tables,
            t.sql.matches(".project_id = ").count(),
            "{q}\n{}",
            t.sql
        );
        assert_eq!(t.columns.len(), t.types.len());
        // The echo means the same query.
        let again = translate(&t.hogql, d, &ctx())
            .unwrap_or_else(|e| panic!("echo of {q} fails: {}\n{e}", t.hogql));
        assert_eq!(again.sql, t.sql, "{q}\n{}", t.hogql);
        assert_eq!(again.params, t.params, "{q}\n{}", t.hogql);
        if d == Dialect::Sqlite {
            DB.with(|db| {
                let db = db.borrow();
                let mut stmt = db
                    .prepare(&t.sql)
                    .unwrap_or_else(|e| panic!("{q}\n{}\n{e}", t.sql));
                assert_eq!(stmt.parameter_count(), t.params.len(), "{q}\n{}", t.sql);
                let ps: Vec<rusqlite::types::Value> = t
                    .params
                    .iter()
                    .map(|p| match p {
                        Param::Null => rusqlite::types::Value::Null,
                        Param::Int(i) => rusqlite::types::Value::Integer(*i),
                        Param::Float(f) => rusqlite::types::Value::Real(*f),
                        Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
                    })
                    .collect();
                let mut rows = stmt.query(rusqlite::params_from_iter(ps)).unwrap();
                while let Some(r) = rows
                    .next()
                    .unwrap_or_else(|e| panic!("{q}\n{}\n{e}", t.sql))
                {
                    let _ = r;
                }
            });
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Replace(usize, usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        prop::sample::select(VOCAB).prop_map(|s| format!(" {s} ")),
        "[ -~]{1,3}",
    ];
    prop_oneof![
        (any::<usize>(), piece.clone()).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), 1usize..6, piece).prop_map(|(i, n, s)| Edit::Replace(i, n, s)),
    ]
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for e in edits {
        let len = chars.len().max(1);
        match e {
            Edit::Insert(i, s) => {
                let at = i % (len + 1);
                let at = at.min(chars.len());
                chars.splice(at..at, s.chars());
            }
            Edit::Delete(i, n) => {
                let at = (i % len).min(chars.len());
                let end = (at + n).min(chars.len());
                chars.drain(at..end);
            }
            Edit::Replace(i, n, s) => {
                let at = (i % len).min(chars.len());
                let end = (at + n).min(chars.len());
                chars.splice(at..end, s.chars());
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(q in "\\PC{0,120}") {
        check(&q);
    }

    #[test]
    fn any_time_literal_never_panics(s in "\\PC{0,40}", t in "[0-9: .TZ+-]{0,35}") {
        check(&format!("SELECT count() FROM events WHERE timestamp > '{}'", s.replace('\'', "")));
        check(&format!("SELECT toDateTime('2026-05-0{t}'), dateDiff('day', '{t}', now())"));
    }

    #[test]
    fn token_soup_never_panics(toks in prop::collection::vec(prop::sample::select(VOCAB), 0..40)) {
        check(&toks.join(" "));
    }

    #[test]
    fn mutated_queries_never_panic_and_stay_valid(
        seed in prop::sample::select(SEEDS),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        check(&apply(seed, &edits));
    }
}

#[test]
fn seeds_translate() {
    for s in SEEDS {
        translate(s, Dialect::Sqlite, &ctx()).unwrap_or_else(|e| panic!("{s}: {e}"));
        check(s);
    }
}
