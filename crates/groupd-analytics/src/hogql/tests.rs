//! Translation without running: names, limits, refusals, the normalised text.
use super::*;

fn cat() -> Catalog {
    Catalog {
        types: vec![(0, "company".into()), (1, "team".into())],
    }
}

fn tr(q: &str) -> Result<Translated, HogError> {
    translate(q, &cat(), 100, 50_000)
}

fn err(q: &str) -> String {
    tr(q).expect_err(q).detail
}

#[test]
fn the_spec_example_normalises_like_posthog() {
    let t = tr("SELECT key, properties.name FROM groups WHERE index = 0 ORDER BY key LIMIT 10")
        .unwrap();
    assert_eq!(
        t.hogql,
        "SELECT key, properties.name AS name FROM groups WHERE equals(index, 0) ORDER BY key ASC LIMIT 10"
    );
    assert_eq!(t.columns, Some(vec!["key".to_string(), "name".to_string()]));
    assert_eq!(t.raw, vec![false, true]);
    assert!(t.reads_groups && !t.reads_events);
}

#[test]
fn limits_default_cap_and_offset() {
    assert_eq!(
        (
            tr("SELECT 1").unwrap().limit,
            tr("SELECT 1").unwrap().offset
        ),
        (100, 0)
    );
    assert_eq!(tr("SELECT 1 LIMIT 1000000").unwrap().limit, 50_000);
    let t = tr("SELECT event FROM events LIMIT 5 OFFSET 7").unwrap();
    assert_eq!((t.limit, t.offset), (5, 7));
    // One row more than the limit is asked for, to tell `hasMore`.
    assert!(
        t.query.to_string().ends_with("LIMIT 6 OFFSET 7"),
        "{}",
        t.query
    );
}

#[test]
fn names_and_tables_are_checked() {
    assert_eq!(
        err("SELECT count() FROM persons"),
        "Unknown table 'persons'."
    );
    assert_eq!(err("SELECT foo(1) FROM events"), "Unknown function 'foo'.");
    assert!(err("SELEC key FROM groups").starts_with("Syntax error"));
    assert_eq!(
        err("SELECT * FROM url('http://x')"),
        "Unsupported: table function 'url'."
    );
    assert_eq!(
        err("SELECT arrayMap(x -> x, [1])"),
        "Unsupported: lambda function 'arrayMap'."
    );
    assert_eq!(err("SELECT 1; SELECT 2"), "Only one statement is allowed.");
    assert_eq!(
        err("DROP TABLE events"),
        "Only SELECT queries are supported."
    );
    assert_eq!(
        err("SELECT person.properties.email FROM events"),
        "Unsupported: 'person.properties.email' (groupd has no persons or sessions)."
    );
}

#[test]
fn group_references_join_their_type() {
    let t = tr("SELECT company.properties.name, group_1.key FROM events").unwrap();
    assert_eq!(
        t.group_tables.iter().copied().collect::<Vec<_>>(),
        vec![0, 1]
    );
    let sql = t.query.to_string();
    // The property is read inside the joined table, once per group, not once per event.
    assert!(
        sql.contains(
            "LEFT JOIN (SELECT *, hog_prop_raw(properties, 'name') AS \"__raw0\" FROM __groups_0) \
             AS __g0 ON __g0.key = events.$group_0"
        ),
        "{sql}"
    );
    assert!(sql.contains("SELECT __g0.__raw0"), "{sql}");
    assert!(
        sql.contains("LEFT JOIN (SELECT * FROM __groups_1) AS __g1 ON __g1.key = events.$group_1"),
        "{sql}"
    );
}

#[test]
fn one_group_read_one_joined_column() {
    let sql = tr("SELECT group_0.properties.plan, count() FROM events \
         WHERE group_0.properties.seats > 10 AND group_0.properties.plan = 'pro' GROUP BY 1")
    .unwrap()
    .query
    .to_string();
    assert_eq!(sql.matches("FROM __groups_0").count(), 1, "{sql}");
    assert!(
        sql.contains("hog_prop_number(properties, 'seats') AS \"__p1\""),
        "{sql}"
    );
    assert!(
        sql.contains("hog_prop_text(properties, 'plan') AS \"__p2\""),
        "{sql}"
    );
}

#[test]
fn comparisons_are_two_valued() {
    let sql = tr("SELECT count() FROM events WHERE properties.utm_source != 'google'")
        .unwrap()
        .query
        .to_string();
    assert!(sql.contains("IS DISTINCT FROM 'google'"), "{sql}");
    // Columns that are never null keep plain, prunable comparisons.
    let sql = tr("SELECT count() FROM events WHERE timestamp >= '2026-01-01'")
        .unwrap()
        .query
        .to_string();
    assert!(sql.contains("events.timestamp >= '2026-01-01'"), "{sql}");
    let sql = tr("SELECT count() FROM events WHERE properties.seats > 10")
        .unwrap()
        .query
        .to_string();
    assert!(
        sql.contains("coalesce(hog_prop_number(events.properties, 'seats') > 10, false)"),
        "{sql}"
    );
}
