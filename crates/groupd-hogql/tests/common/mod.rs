//! The execution suite shared by the SQLite and PostgreSQL runners: the same data in two
//! projects, the same queries, the same expected JSON.
#![allow(dead_code)]

use serde_json::{Value, json};

pub const NOW: &str = "2026-05-03T00:00:00Z";

pub fn us(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    (t.unix_timestamp_nanos() / 1000) as i64
}

pub fn ctx() -> groupd_hogql::QueryContext {
    groupd_hogql::QueryContext {
        project_id: 1,
        max_group_types: 5,
        now_us: us(NOW),
        default_limit: 100,
        max_limit: 50_000,
    }
}

/// (project, group type index, key, properties, created_at)
pub const GROUPS: &[(i64, i64, &str, &str, &str)] = &[
    (
        1,
        0,
        "acme",
        r#"{"name":"Acme","seats":20,"plan":"pro","$x":1,"nested":{"a":{"b":"deep"}},"tags":["a","b"]}"#,
        "2026-04-01T00:00:00Z",
    ),
    (
        1,
        0,
        "globex",
        r#"{"name":"Globex","seats":5,"flag":true,"score":1.5}"#,
        "2026-04-15T08:30:00.25Z",
    ),
    (
        1,
        1,
        "initech",
        r#"{"name":"Initech","seats":"12"}"#,
        "2026-04-20T00:00:00Z",
    ),
    (
        2,
        0,
        "acme",
        r#"{"name":"Evil","seats":1000}"#,
        "2026-04-01T00:00:00Z",
    ),
    (
        2,
        0,
        "hooli",
        r#"{"name":"Hooli","seats":50}"#,
        "2026-04-01T00:00:00Z",
    ),
];

/// (project, uuid byte, event, distinct_id, timestamp, properties, group_keys)
pub const EVENTS: &[(i64, u8, &str, &str, &str, &str, &str)] = &[
    (
        1,
        1,
        "pageview",
        "d1",
        "2026-05-01T10:00:00Z",
        r#"{"$browser":"Chrome","amount":10,"$groups":{"company":"acme"}}"#,
        r#"["acme"]"#,
    ),
    (
        1,
        2,
        "pageview",
        "d2",
        "2026-05-02T12:00:00.5Z",
        r#"{"amount":2.5}"#,
        r#"["globex"]"#,
    ),
    (
        1,
        3,
        "signup",
        "d1",
        "2026-04-20T00:00:00Z",
        r#"{"amount":"7"}"#,
        r#"["acme","initech"]"#,
    ),
    (
        1,
        4,
        "pageview",
        "d3",
        "2026-05-02T23:00:00Z",
        r#"{}"#,
        r#"[]"#,
    ),
    (
        2,
        5,
        "pageview",
        "x1",
        "2026-05-02T10:00:00Z",
        r#"{"amount":100}"#,
        r#"["acme"]"#,
    ),
    (
        2,
        6,
        "signup",
        "x2",
        "2026-05-02T11:00:00Z",
        r#"{}"#,
        r#"["hooli"]"#,
    ),
];

/// Queries covering every grammar item; each must translate and run on both backends.
pub const ACCEPTED: &[&str] = &[
    "SELECT concat(event, '-x') AS k, count() FROM events GROUP BY k ORDER BY k",
    "SELECT toStartOfDay(timestamp) AS d, count() FROM events GROUP BY d ORDER BY d",
    "SELECT DISTINCT timestamp, properties.amount FROM events ORDER BY timestamp DESC, properties.amount",
    "SELECT properties.a < properties.b, properties.a = properties.b FROM events",
    "SELECT lower(properties.name) AS n, sum(properties.seats) FROM groups GROUP BY n HAVING sum(properties.seats) > 1",
    "SELECT key FROM groups ORDER BY properties.seats DESC, properties.name",
    "SELECT toString(true), toString(1.5), toString(today()), toInt(2.7), toFloat(true), toInt(true) FROM events",
    "SELECT uuid, event, distinct_id, timestamp, created_at, properties FROM events",
    "SELECT index, key, created_at, updated_at, properties FROM groups",
    "SELECT * FROM events",
    "SELECT e.* FROM events e",
    "SELECT event FROM events WHERE event == 'a' OR event <> 'b' AND NOT event = 'c'",
    "SELECT count(*), count(DISTINCT event), uniq(distinct_id), countIf(event = 'x') FROM events",
    "SELECT sumIf(properties.n, event = 'a'), avgIf(properties.n, 1), minIf(timestamp, 1), maxIf(timestamp, true) FROM events",
    "SELECT any(event), argMax(event, timestamp), argMin(distinct_id, event) FROM events",
    "SELECT toStartOfWeek(timestamp), toStartOfWeek(timestamp, 0), toStartOfMonth(timestamp), toStartOfDay(timestamp) FROM events",
    "SELECT dateDiff('week', timestamp, now()), dateDiff('quarter', created_at, timestamp), dateDiff('minute', timestamp, now()), dateDiff('second', timestamp, now()) FROM events",
    "SELECT timestamp + INTERVAL 1 HOUR, timestamp - INTERVAL 2 WEEK, INTERVAL 1 YEAR + timestamp, today() - INTERVAL 3 MONTH FROM events",
    "SELECT lower(event), upper(event), length(event), concat(event, distinct_id, 'x'), trim(event) FROM events",
    "SELECT coalesce(properties.a, properties.b, 'x'), ifNull(properties.n, 0), if(properties.n > 1, 'big', 'small') FROM events",
    "SELECT JSONExtractString(properties, 'a', 'b'), JSONExtractString(group_0.properties, 'name') FROM events",
    "SELECT toString(timestamp), toString(properties.a), toInt(properties.a), toFloat(event), toInt(timestamp) FROM events",
    "SELECT intDiv(10, 3), 10 % 3, -properties.n, properties.n * 2 FROM events",
    "SELECT event FROM events WHERE event ILIKE '%a%' AND event NOT ILIKE 'b' AND distinct_id LIKE 'd\\_%'",
    "SELECT event FROM events WHERE properties.n NOT IN (1, 2.5) AND properties.s IN ('a', 'b')",
    "SELECT event FROM events WHERE timestamp NOT BETWEEN '2026-01-01' AND now()",
    "SELECT event AS e, count() FROM events GROUP BY e ORDER BY 2 DESC, e",
    "SELECT properties.plan AS plan, count() AS c FROM groups GROUP BY plan HAVING c > 1 ORDER BY c",
    "SELECT e.event FROM events AS e INNER JOIN groups AS g ON g.key = e.$group_0 WHERE g.properties.seats > 10",
    "WITH big AS (SELECT key FROM groups WHERE properties.seats > 100) SELECT count() FROM events WHERE $group_0 IN (SELECT key FROM big)",
    "SELECT equals(event, 'a'), and(1, 0), or(true, false), not(1), plus(1, 2), isNull(event), like(event, 'a%') FROM events",
    "SELECT properties.$groups.company, properties.`a b`.c FROM events",
    "SELECT DISTINCT event FROM events ORDER BY event",
];

/// Valid queries the property tests mutate.
pub const SEEDS: &[&str] = &[
    "SELECT key, properties.name FROM groups WHERE index = 0 ORDER BY key LIMIT 10",
    "SELECT group_0.properties.name AS company, count() AS c FROM events GROUP BY company ORDER BY c DESC",
    "SELECT event, countIf(properties.amount > 5), uniq(distinct_id) FROM events WHERE timestamp > now() - INTERVAL 7 DAY GROUP BY 1 HAVING count() > 1",
    "WITH g AS (SELECT key, properties.seats AS seats FROM groups) SELECT max(seats) FROM g WHERE key IN (SELECT $group_0 FROM events)",
    "SELECT e.event, g.key FROM events AS e LEFT JOIN groups AS g ON g.key = e.$group_0 AND g.index = 0 WHERE e.event LIKE 'p%' OR e.distinct_id NOT ILIKE 'D_'",
    "SELECT toStartOfWeek(timestamp), dateDiff('day', created_at, now()), toString(toDate('2026-05-01')), if(properties.flag, 'y', 'n') FROM events LIMIT 5 OFFSET 1",
    "SELECT argMax(properties.name, updated_at), max(coalesce(properties.x, 0) + 1 / 2) FROM groups WHERE properties.seats BETWEEN 1 AND 100 AND properties.missing IS NULL",
    "SELECT DISTINCT concat(lower(event), '-', toString(length(distinct_id))) AS k FROM events ORDER BY k",
];

/// Fragments spliced into mutated queries.
pub const VOCAB: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "INTERVAL",
    "DAY",
    "WITH",
    "DISTINCT",
    "events",
    "groups",
    "key",
    "index",
    "properties",
    "properties.name",
    "properties.$x.y",
    "$group_0",
    "group_1.properties.a",
    "timestamp",
    "created_at",
    "uuid",
    "event",
    "count()",
    "sum(",
    "avg(",
    "argMax(",
    "toDateTime(",
    "now()",
    "if(",
    "(",
    ")",
    ",",
    "=",
    "!=",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "'x'",
    "'2026-01-01'",
    "1",
    "2.5",
    "-3",
    "true",
    "null",
    "*",
    ";",
    "UNION",
    "INSERT",
    "PRAGMA",
    "sqlite_version()",
    "`a b`",
    "\"q\"",
    "'",
    "\\",
    "$",
    "$1",
    "?",
];

pub struct Out {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Value>,
    pub has_more: bool,
    pub hogql: String,
}

/// Translates and runs one query against a seeded database, decoding cells with `to_json`
/// and cutting the extra row off like the server does.
pub trait Runner {
    fn run(&mut self, q: &str) -> Out;
}

pub fn finish(t: &groupd_hogql::Translated, mut rows: Vec<Value>) -> Out {
    let has_more = rows.len() as u64 > t.limit;
    rows.truncate(t.limit as usize);
    Out {
        columns: t.columns.clone(),
        types: t.types.iter().map(|t| t.clickhouse_name()).collect(),
        rows,
        has_more,
        hogql: t.hogql.clone(),
    }
}

fn rows(r: &mut dyn Runner, q: &str) -> Value {
    Value::Array(r.run(q).rows)
}

/// One case of the suite.
pub type Case = fn(&mut dyn Runner);

pub const ALL: &[(&str, Case)] = &[
    (
        "spec_example_runs_and_echoes_normalised_hogql",
        spec_example_runs_and_echoes_normalised_hogql,
    ),
    (
        "other_projects_rows_never_appear",
        other_projects_rows_never_appear,
    ),
    (
        "group_level_counts_via_implicit_join",
        group_level_counts_via_implicit_join,
    ),
    (
        "property_values_keep_their_json_type",
        property_values_keep_their_json_type,
    ),
    (
        "numeric_property_comparisons_compare_numbers",
        numeric_property_comparisons_compare_numbers,
    ),
    (
        "time_windows_and_date_functions",
        time_windows_and_date_functions,
    ),
    (
        "aggregates_having_and_positions",
        aggregates_having_and_positions,
    ),
    (
        "operators_and_scalar_functions",
        operators_and_scalar_functions,
    ),
    ("joins_and_subqueries", joins_and_subqueries),
    ("limit_offset_and_has_more", limit_offset_and_has_more),
];

pub fn spec_example_runs_and_echoes_normalised_hogql(r: &mut dyn Runner) {
    let o = r.run("SELECT key, properties.name FROM groups WHERE index = 0 ORDER BY key LIMIT 10");
    assert_eq!(o.columns, ["key", "name"]);
    assert_eq!(o.types, ["String", "String"]);
    assert_eq!(
        Value::Array(o.rows),
        json!([["acme", "Acme"], ["globex", "Globex"]])
    );
    assert_eq!(
        o.hogql,
        "SELECT key, properties.name AS name FROM groups WHERE equals(index, 0) ORDER BY key ASC LIMIT 10"
    );
    assert!(!o.has_more);
}

pub fn other_projects_rows_never_appear(r: &mut dyn Runner) {
    assert_eq!(rows(r, "SELECT count() FROM groups"), json!([[3]]));
    assert_eq!(rows(r, "SELECT count() FROM events"), json!([[4]]));
    assert_eq!(
        rows(
            r,
            "SELECT key FROM groups WHERE properties.name = 'Evil' OR key = 'hooli'"
        ),
        json!([])
    );
    // Joins, subqueries, IN-subqueries and CTEs are all filtered.
    assert_eq!(
        rows(
            r,
            "SELECT count() FROM events e JOIN groups g ON g.key = e.$group_0 AND g.index = 0"
        ),
        json!([[3]])
    );
    assert_eq!(
        rows(r, "SELECT count() FROM (SELECT key FROM groups) s"),
        json!([[3]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT count() FROM events WHERE distinct_id IN (SELECT distinct_id FROM events)"
        ),
        json!([[4]])
    );
    assert_eq!(
        rows(
            r,
            "WITH g AS (SELECT key, properties.seats AS seats FROM groups) SELECT max(seats) FROM g"
        ),
        json!([[20]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT group_0.properties.name FROM events WHERE event = 'pageview' ORDER BY timestamp"
        ),
        json!([["Acme"], ["Globex"], [null]])
    );
}

pub fn group_level_counts_via_implicit_join(r: &mut dyn Runner) {
    let o = r.run("SELECT group_0.properties.name AS company, count() AS c FROM events GROUP BY company ORDER BY c DESC, company",
    );
    assert_eq!(o.columns, ["company", "c"]);
    assert_eq!(o.types, ["String", "UInt64"]);
    assert_eq!(
        Value::Array(o.rows),
        json!([["Acme", 2], ["Globex", 1], [null, 1]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT $group_1, group_1.key, group_1.properties.name FROM events WHERE $group_1 != ''"
        ),
        json!([["initech", "initech", "Initech"]])
    );
    assert_eq!(
        rows(r, "SELECT count() FROM events WHERE $group_0 = ''"),
        json!([[1]])
    );
}

pub fn property_values_keep_their_json_type(r: &mut dyn Runner) {
    assert_eq!(
        rows(
            r,
            "SELECT properties.seats, properties.flag, properties.score, properties.nested.a.b, properties.$x, properties.tags, properties.missing FROM groups WHERE index = 0 ORDER BY key"
        ),
        json!([
            [20, null, null, "deep", 1, "[\"a\",\"b\"]", null],
            [5, 1, 1.5, null, null, null, null]
        ])
    );
    assert_eq!(
        rows(
            r,
            "SELECT properties.$browser, properties.$groups.company FROM events WHERE properties.$browser = 'Chrome'"
        ),
        json!([["Chrome", "acme"]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT JSONExtractString(properties, 'name'), JSONExtractString(properties, 'seats') FROM groups WHERE key = 'acme'"
        ),
        json!([["Acme", ""]])
    );
}

pub fn numeric_property_comparisons_compare_numbers(r: &mut dyn Runner) {
    assert_eq!(
        rows(
            r,
            "SELECT key FROM groups WHERE properties.seats > 10 ORDER BY key"
        ),
        json!([["acme"]])
    );
    assert_eq!(
        rows(r, "SELECT key FROM groups WHERE properties.seats < 10"),
        json!([["globex"]])
    );
    assert_eq!(
        rows(r, "SELECT key FROM groups WHERE properties.score >= 1.5"),
        json!([["globex"]])
    );
    assert_eq!(
        rows(r, "SELECT key FROM groups WHERE properties.flag = true"),
        json!([["globex"]])
    );
    assert_eq!(
        rows(r, "SELECT key FROM groups WHERE properties.seats = '12'"),
        json!([["initech"]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT sum(properties.amount), avg(properties.amount), any(toInt(properties.amount)) FROM events WHERE event = 'signup'"
        ),
        json!([[0, null, 7]])
    );
    assert_eq!(
        rows(r, "SELECT sum(properties.amount) FROM events"),
        json!([[12.5]])
    );
}

pub fn time_windows_and_date_functions(r: &mut dyn Runner) {
    assert_eq!(
        rows(
            r,
            "SELECT count() FROM events WHERE timestamp > now() - INTERVAL 1 DAY"
        ),
        json!([[2]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT count() FROM events WHERE timestamp >= '2026-05-01' AND timestamp < '2026-05-02 12:00:00.5'"
        ),
        json!([[1]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT count() FROM events WHERE timestamp BETWEEN toDateTime('2026-05-01T00:00:00Z') AND '2026-05-02T12:00:00.5+00:00'"
        ),
        json!([[2]])
    );
    let o = r.run("SELECT timestamp, toDate(timestamp), toStartOfDay(timestamp), toStartOfWeek(timestamp), toStartOfMonth(timestamp) FROM events WHERE distinct_id = 'd2'",
    );
    assert_eq!(
        o.types,
        [
            "DateTime64(6, 'UTC')",
            "Date",
            "DateTime64(6, 'UTC')",
            "Date",
            "Date"
        ]
    );
    assert_eq!(
        Value::Array(o.rows),
        json!([[
            "2026-05-02T12:00:00.500000Z",
            "2026-05-02",
            "2026-05-02T00:00:00Z",
            "2026-04-26",
            "2026-05-01"
        ]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT dateDiff('day', '2026-04-30 23:59:59', '2026-05-01 00:00:01'), dateDiff('month', '2026-01-31', '2026-03-01'), dateDiff('hour', '2026-05-01 10:59:00', '2026-05-01 11:00:00'), dateDiff('year', '2025-12-31', '2026-01-01')"
        ),
        json!([[1, 2, 1, 1]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT now(), today(), now() - INTERVAL 1 MONTH, toString(toDateTime('2026-05-02 10:01:02'))"
        ),
        json!([[
            "2026-05-03T00:00:00Z",
            "2026-05-03",
            "2026-04-03T00:00:00Z",
            "2026-05-02 10:01:02.000000"
        ]])
    );
}

pub fn aggregates_having_and_positions(r: &mut dyn Runner) {
    assert_eq!(
        rows(
            r,
            "SELECT event, count() AS c, uniq(distinct_id) FROM events GROUP BY event HAVING c > 1 ORDER BY 1"
        ),
        json!([["pageview", 3, 3]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT distinct_id, countIf(event = 'pageview'), argMax(event, timestamp), argMin(event, timestamp) FROM events GROUP BY 1 ORDER BY 1"
        ),
        json!([
            ["d1", 1, "pageview", "signup"],
            ["d2", 1, "pageview", "pageview"],
            ["d3", 1, "pageview", "pageview"]
        ])
    );
    assert_eq!(
        rows(
            r,
            "SELECT min(properties.seats), max(properties.seats), count(DISTINCT index), sumIf(properties.seats, index = 0), avgIf(properties.seats, index = 0), minIf(key, index = 0), maxIf(key, index = 0) FROM groups"
        ),
        json!([[5, 20, 2, 25, 12.5, "acme", "globex"]])
    );
    assert_eq!(
        rows(r, "SELECT 7 / 2, 7 % 2, intDiv(7, 2), 1 / 0"),
        json!([[3.5, 1, 3, null]])
    );
}

pub fn operators_and_scalar_functions(r: &mut dyn Runner) {
    assert_eq!(
        rows(
            r,
            "SELECT key FROM groups WHERE key LIKE 'ac%' OR key ILIKE 'GLO%' ORDER BY key"
        ),
        json!([["acme"], ["globex"]])
    );
    assert_eq!(
        rows(r, "SELECT key FROM groups WHERE key LIKE 'AC%'"),
        json!([])
    );
    assert_eq!(
        rows(
            r,
            "SELECT key FROM groups WHERE key NOT LIKE 'a%' AND key NOT ILIKE 'I%'"
        ),
        json!([["globex"]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT key FROM groups WHERE key IN ('acme', 'initech') AND index NOT IN (1) AND properties.missing IS NULL AND properties.name IS NOT NULL"
        ),
        json!([["acme"]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT lower('AbC'), upper(key), length('héllo'), concat(key, '-', toString(index)), trim('  x '), coalesce(properties.missing, 'dflt'), ifNull(NULL, 3), if(index = 0, 'zero', 'other'), toFloat('2.5'), toInt('x') FROM groups WHERE key = 'acme'"
        ),
        json!([[
            "abc", "ACME", 6, "acme-0", "x", "dflt", 3, "zero", 2.5, null
        ]])
    );
    assert_eq!(
        rows(r, "SELECT DISTINCT event FROM events ORDER BY event DESC"),
        json!([["signup"], ["pageview"]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT uuid FROM events WHERE uuid = '01010101-0101-0101-0101-010101010101'"
        ),
        json!([["01010101-0101-0101-0101-010101010101"]])
    );
    assert_eq!(
        rows(r, "SELECT 'it''s', 'it\\'s', -3, 2.5 * 2, 1 + true"),
        json!([["it's", "it's", -3, 5, 2]])
    );
}

pub fn joins_and_subqueries(r: &mut dyn Runner) {
    assert_eq!(
        rows(
            r,
            "SELECT e.event, g.properties.name FROM events AS e LEFT JOIN groups AS g ON g.key = e.$group_0 AND g.index = 0 ORDER BY e.timestamp"
        ),
        json!([
            ["signup", "Acme"],
            ["pageview", "Acme"],
            ["pageview", "Globex"],
            ["pageview", null]
        ])
    );
    assert_eq!(
        rows(
            r,
            "SELECT s.k, s.n FROM (SELECT key AS k, properties.seats AS n FROM groups WHERE index = 0) AS s WHERE s.n > 10"
        ),
        json!([["acme", 20]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT key FROM groups WHERE key IN (SELECT $group_0 FROM events WHERE event = 'signup')"
        ),
        json!([["acme"]])
    );
    assert_eq!(
        rows(
            r,
            "SELECT key FROM groups WHERE properties.seats IN (SELECT properties.amount FROM events) ORDER BY key"
        ),
        json!([])
    );
    assert_eq!(
        rows(r, "SELECT * FROM groups WHERE key = 'initech'"),
        json!([[
            1,
            "initech",
            "2026-04-20T00:00:00Z",
            "2026-04-20T00:00:00Z",
            "{\"name\":\"Initech\",\"seats\":\"12\"}"
        ]])
    );
}

pub fn limit_offset_and_has_more(r: &mut dyn Runner) {
    let o = r.run("SELECT key FROM groups ORDER BY key LIMIT 2");
    assert_eq!(Value::Array(o.rows), json!([["acme"], ["globex"]]));
    assert!(o.has_more);
    let o = r.run("SELECT key FROM groups ORDER BY key LIMIT 2 OFFSET 2");
    assert_eq!(Value::Array(o.rows), json!([["initech"]]));
    assert!(!o.has_more);
    assert!(o.hogql.ends_with("LIMIT 2 OFFSET 2"), "{}", o.hogql);
    let o = r.run("SELECT key FROM groups LIMIT 999999");
    assert_eq!(o.rows.len(), 3);
    assert!(o.hogql.ends_with("LIMIT 50000"), "{}", o.hogql);
    let o = r.run("SELECT key FROM groups");
    assert!(o.hogql.ends_with("LIMIT 100"), "{}", o.hogql);
}

/// An in-memory SQLite with groupd's schema and the suite's data.
pub fn db() -> rusqlite::Connection {
    let c = rusqlite::Connection::open_in_memory().unwrap();
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
            rusqlite::params![p, i, k, props, us(at)],
        )
        .unwrap();
    }
    for (p, u, e, d, ts, props, gk) in EVENTS {
        c.execute(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
            rusqlite::params![p, vec![*u; 16], e, d, us(ts), props, gk],
        )
        .unwrap();
    }
    c
}

/// The SQLite runner.
pub struct Sqlite(pub rusqlite::Connection);

impl Runner for Sqlite {
    fn run(&mut self, q: &str) -> Out {
        let t = groupd_hogql::translate(q, groupd_hogql::Dialect::Sqlite, &ctx())
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        let mut stmt = self
            .0
            .prepare(&t.sql)
            .unwrap_or_else(|e| panic!("{q}\n{}\n{e}", t.sql));
        let params: Vec<rusqlite::types::Value> = t
            .params
            .iter()
            .map(|p| match p {
                groupd_hogql::Param::Null => rusqlite::types::Value::Null,
                groupd_hogql::Param::Int(i) => rusqlite::types::Value::Integer(*i),
                groupd_hogql::Param::Float(f) => rusqlite::types::Value::Real(*f),
                groupd_hogql::Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
            })
            .collect();
        let n = t.columns.len();
        let rows: Vec<Value> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                let mut row = Vec::new();
                for i in 0..n {
                    let v = match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => groupd_hogql::SqlValue::Null,
                        rusqlite::types::ValueRef::Integer(i) => groupd_hogql::SqlValue::Int(i),
                        rusqlite::types::ValueRef::Real(f) => groupd_hogql::SqlValue::Float(f),
                        rusqlite::types::ValueRef::Text(t) => {
                            groupd_hogql::SqlValue::Text(String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Blob(b) => {
                            groupd_hogql::SqlValue::Blob(b.to_vec())
                        }
                    };
                    row.push(groupd_hogql::to_json(&t.types[i], v));
                }
                Ok(Value::Array(row))
            })
            .and_then(|it| it.collect::<Result<_, _>>())
            .unwrap_or_else(|e| panic!("{q}\n{}\n{e}", t.sql));
        finish(&t, rows)
    }
}
