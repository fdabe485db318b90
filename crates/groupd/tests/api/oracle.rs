//! The reference oracle: generated data and queries run on groupd and on embedded ClickHouse
//! (chdb, through `tests/oracle/run_chdb.py`), each query also written as PostHog prints it for
//! ClickHouse (property reads through `JSONExtractRaw`, null-safe comparisons, the group join).
//! Every answer must agree. Documented deviations are not generated: boolean properties (PostHog
//! types them from property definitions) and `lagInFrame` without a default.
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::*;

/// xorshift: deterministic, so a failure names a query that fails again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

fn dataset(rng: &mut Rng) -> Vec<Value> {
    let mut out = vec![];
    for (i, tier) in [Some(1), Some(2), None, Some(3), Some(2)]
        .iter()
        .enumerate()
    {
        let mut set = json!({"name": format!("Co{i}")});
        if let Some(t) = tier {
            set["tier"] = json!(t);
        }
        out.push(json!({"event": "$groupidentify", "distinct_id": "admin", "timestamp": "2026-05-01T00:00:00Z",
            "properties": {"$group_type": "company", "$group_key": format!("c{i}"), "$group_set": set}}));
    }
    for i in 0..240 {
        let mut props = serde_json::Map::new();
        match rng.below(4) {
            0 => {}
            1 => {
                props.insert("plan".into(), json!("free"));
            }
            2 => {
                props.insert("plan".into(), json!("pro"));
            }
            _ => {
                props.insert("plan".into(), json!(""));
            }
        }
        if rng.chance(70) {
            let n = rng.below(20) as i64;
            props.insert(
                "n".into(),
                if rng.chance(20) {
                    json!(n as f64 + 0.5)
                } else {
                    json!(n)
                },
            );
        }
        if rng.chance(60) {
            props.insert(
                "src".into(),
                json!(rng.pick(&["google", "bing", "mail", "ads"])),
            );
        }
        if rng.chance(80) {
            props.insert(
                "$groups".into(),
                json!({"company": format!("c{}", rng.below(6))}),
            );
        }
        let ts = format!(
            "2026-05-{:02}T{:02}:{:02}:00Z",
            1 + rng.below(14),
            rng.below(24),
            rng.below(60)
        );
        out.push(json!({"event": rng.pick(&["view", "click", "buy"]), "distinct_id": format!("d{}", rng.below(9)),
            "timestamp": ts, "properties": props, "uuid": format!("0190f000-0000-7000-9000-{i:012}")}));
    }
    out
}

const S_PLAN: &str = "replaceRegexpAll(nullIf(nullIf(JSONExtractRaw(properties, 'plan'), ''), 'null'), '^\"|\"$', '')";
const S_SRC: &str = "replaceRegexpAll(nullIf(nullIf(JSONExtractRaw(properties, 'src'), ''), 'null'), '^\"|\"$', '')";
const N_N: &str = "toFloat64OrNull(JSONExtractRaw(properties, 'n'))";
const N_TIER: &str = "toFloat64OrNull(JSONExtractRaw(g0.properties, 'tier'))";
const S_NAME: &str = "replaceRegexpAll(nullIf(nullIf(JSONExtractRaw(g0.properties, 'name'), ''), 'null'), '^\"|\"$', '')";

/// One generated predicate: (HogQL, ClickHouse as PostHog prints it, reads group_0).
fn atom(rng: &mut Rng) -> (String, String, bool) {
    let k = rng.below(20);
    let (a, b) = (rng.below(10), 10 + rng.below(10));
    let op = *rng.pick(&["=", "!=", "<", "<=", ">", ">="]);
    let plan = *rng.pick(&["free", "pro", ""]);
    let src = *rng.pick(&["%oo%", "b%", "%s"]);
    let null_default = |op: &str| if op == "!=" { 1 } else { 0 };
    match rng.below(13) {
        0 => (
            format!("properties.plan {op} '{plan}'"),
            format!("ifNull({S_PLAN} {op} '{plan}', {})", null_default(op)),
            false,
        ),
        1 => (
            "properties.plan IS NULL".into(),
            format!("{S_PLAN} IS NULL"),
            false,
        ),
        2 => (
            "properties.plan IS NOT NULL".into(),
            format!("{S_PLAN} IS NOT NULL"),
            false,
        ),
        3 | 4 => (
            format!("properties.n {op} {k}"),
            format!("ifNull({N_N} {op} {k}, {})", null_default(op)),
            false,
        ),
        5 => (
            format!("properties.n BETWEEN {a} AND {b}"),
            format!("ifNull({N_N} BETWEEN {a} AND {b}, 0)"),
            false,
        ),
        6 => (
            "properties.plan IN ('free', 'pro')".into(),
            format!("ifNull({S_PLAN} IN ('free', 'pro'), 0)"),
            false,
        ),
        7 => (
            "properties.plan NOT IN ('free', '')".into(),
            format!("ifNull({S_PLAN} NOT IN ('free', ''), 1)"),
            false,
        ),
        8 => (
            format!("properties.src LIKE '{src}'"),
            format!("ifNull({S_SRC} LIKE '{src}', 0)"),
            false,
        ),
        9 => (
            format!("properties.src NOT LIKE '{src}'"),
            format!("ifNull({S_SRC} NOT LIKE '{src}', 1)"),
            false,
        ),
        10 => {
            let e = rng.pick(&["view", "click", "buy"]);
            (format!("event = '{e}'"), format!("event = '{e}'"), false)
        }
        11 => {
            let d = 1 + rng.below(14);
            (
                format!("timestamp >= '2026-05-{d:02} 00:00:00'"),
                format!("timestamp >= '2026-05-{d:02} 00:00:00'"),
                false,
            )
        }
        _ => {
            let t = 1 + rng.below(3);
            (
                format!("group_0.properties.tier {op} {t}"),
                format!("ifNull({N_TIER} {op} {t}, {})", null_default(op)),
                true,
            )
        }
    }
}

fn predicate(rng: &mut Rng, depth: u32) -> (String, String, bool) {
    if depth == 0 || rng.chance(40) {
        return atom(rng);
    }
    let (a, ca, ga) = predicate(rng, depth - 1);
    match rng.below(3) {
        0 => (format!("NOT ({a})"), format!("NOT ({ca})"), ga),
        n => {
            let (b, cb, gb) = predicate(rng, depth - 1);
            let op = if n == 1 { "AND" } else { "OR" };
            (
                format!("({a}) {op} ({b})"),
                format!("({ca}) {op} ({cb})"),
                ga || gb,
            )
        }
    }
}

/// One generated query: (HogQL, ClickHouse).
fn query(rng: &mut Rng) -> (String, String) {
    let (p, cp, mut g) = predicate(rng, 2);
    let keys: [(&str, String, bool); 6] = [
        ("event", "event".into(), false),
        ("properties.plan", S_PLAN.into(), false),
        ("$group_0", "`$group_0`".into(), false),
        ("group_0.properties.name", S_NAME.into(), true),
        (
            "toStartOfDay(timestamp)",
            "toStartOfDay(timestamp)".into(),
            false,
        ),
        ("toHour(timestamp)", "toHour(timestamp)".into(), false),
    ];
    let aggs: [(&str, String); 6] = [
        ("sum(properties.n)", format!("sum({N_N})")),
        ("avg(properties.n)", format!("avg({N_N})")),
        ("min(properties.n)", format!("min({N_N})")),
        ("max(properties.n)", format!("max({N_N})")),
        ("uniq(distinct_id)", "uniq(distinct_id)".into()),
        ("count(properties.src)", format!("count({S_SRC})")),
    ];
    let (hog, ch) = if rng.chance(25) {
        (
            format!("SELECT count() FROM events WHERE {p}"),
            format!("SELECT count() FROM events{{J}} WHERE {cp}"),
        )
    } else {
        let (k, ck, gk) = rng.pick(&keys);
        let (a, ca) = rng.pick(&aggs);
        g |= *gk;
        (
            format!("SELECT {k} AS k, count() AS c, {a} AS a FROM events WHERE {p} GROUP BY k"),
            format!(
                "SELECT {ck} AS k, count() AS c, {ca} AS a FROM events{{J}} WHERE {cp} GROUP BY k"
            ),
        )
    };
    let join = if g {
        " LEFT JOIN groups AS g0 ON g0.index = 0 AND g0.key = events.`$group_0`"
    } else {
        ""
    };
    (
        format!("{hog} LIMIT 10000"),
        ch.replace("{J}", join) + " LIMIT 10000",
    )
}

fn canon(v: &Value) -> Value {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            Value::String(format!("#{}", (f * 1e6).round() / 1e6))
        }
        Value::String(s) => {
            let b = s.as_bytes();
            if b.len() >= 19 && b[4] == b'-' && (b[10] == b'T' || b[10] == b' ') {
                return Value::String(format!("{} {}", &s[..10], &s[11..19]));
            }
            match s.parse::<f64>() {
                Ok(f) if !s.is_empty() => Value::String(format!("#{}", (f * 1e6).round() / 1e6)),
                _ => v.clone(),
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(canon).collect()),
        other => other.clone(),
    }
}

fn rows(v: &Value) -> Vec<String> {
    let mut r: Vec<String> = v
        .as_array()
        .map(|a| a.iter().map(|x| canon(x).to_string()).collect())
        .unwrap_or_default();
    r.sort();
    r
}

fn chdb(events: &[Value], queries: &[String]) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/oracle/run_chdb.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs (the oracle needs python3 with `pip install chdb`)");
    let input = json!({"events": events, "queries": queries}).to_string();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "run_chdb.py failed (is chdb installed? `pip install chdb`)"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn generated_queries_agree_with_clickhouse() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let events = dataset(&mut rng);
    let queries: Vec<(String, String)> = (0..150).map(|_| query(&mut rng)).collect();
    let app = TestApp::spawn();
    let (status, body) = app.capture("/batch/", &json!({"api_key": app.token(), "batch": events}));
    assert_eq!(status, 200, "{body}");
    let twins: Vec<String> = queries.iter().map(|q| q.1.clone()).collect();
    let reference = chdb(&events, &twins);
    let mut failures = vec![];
    for ((hog, ch), want) in queries.iter().zip(&reference) {
        let (status, body) = app.query(hog);
        match (&want.get("rows"), status) {
            (Some(w), 200) if rows(&body["results"]) == rows(w) => {}
            (Some(w), _) => failures.push(format!(
                "{hog}\n  clickhouse: {ch}\n  groupd {status}: {}\n  chdb: {}",
                serde_json::to_string(&rows(&body["results"])).unwrap_or_default(),
                serde_json::to_string(&rows(w)).unwrap_or_default()
            )),
            (None, _) => failures.push(format!("the twin failed on chdb: {ch}: {}", want["error"])),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} disagree:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
}
