//! Runs the shared execution suite on an in-memory SQLite with groupd's schema.

mod common;

use common::{EVENTS, GROUPS, Out, Runner, ctx, finish, us};
use groupd_hogql::{Dialect, Param, SqlValue, to_json, translate};
use rusqlite::{Connection, params, types::ValueRef};
use serde_json::Value;

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE groups(id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, group_type_index INTEGER NOT NULL,
            group_key TEXT NOT NULL, properties TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0);
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

struct Sqlite(Connection);

impl Runner for Sqlite {
    fn run(&mut self, q: &str) -> Out {
        let t = translate(q, Dialect::Sqlite, &ctx()).unwrap_or_else(|e| panic!("{q}: {e}"));
        let mut stmt = self
            .0
            .prepare(&t.sql)
            .unwrap_or_else(|e| panic!("{q}\n{}\n{e}", t.sql));
        let params: Vec<rusqlite::types::Value> = t
            .params
            .iter()
            .map(|p| match p {
                Param::Null => rusqlite::types::Value::Null,
                Param::Int(i) => rusqlite::types::Value::Integer(*i),
                Param::Float(f) => rusqlite::types::Value::Real(*f),
                Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
            })
            .collect();
        let n = t.columns.len();
        let rows: Vec<Value> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                let mut row = Vec::new();
                for i in 0..n {
                    let v = match r.get_ref(i)? {
                        ValueRef::Null => SqlValue::Null,
                        ValueRef::Integer(i) => SqlValue::Int(i),
                        ValueRef::Real(f) => SqlValue::Float(f),
                        ValueRef::Text(t) => {
                            SqlValue::Text(String::from_utf8_lossy(t).into_owned())
                        }
                        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
                    };
                    row.push(to_json(&t.types[i], v));
                }
                Ok(Value::Array(row))
            })
            .and_then(|it| it.collect::<Result<_, _>>())
            .unwrap_or_else(|e| panic!("{q}\n{}\n{e}", t.sql));
        finish(&t, rows)
    }
}

macro_rules! sqlite_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                common::$name(&mut Sqlite(db()));
            }
        )*
    };
}

sqlite_tests!(
    spec_example_runs_and_echoes_normalised_hogql,
    other_projects_rows_never_appear,
    group_level_counts_via_implicit_join,
    property_values_keep_their_json_type,
    numeric_property_comparisons_compare_numbers,
    time_windows_and_date_functions,
    aggregates_having_and_positions,
    operators_and_scalar_functions,
    joins_and_subqueries,
    limit_offset_and_has_more,
);

#[test]
fn the_suite_list_is_complete() {
    assert_eq!(common::ALL.len(), 10);
}

#[test]
fn every_accepted_query_runs() {
    let mut r = Sqlite(db());
    for q in common::ACCEPTED {
        r.run(q);
    }
}
