//! The ingest plan: type assignment order, retries, warnings.
use super::*;
use crate::domain::GroupTypeIndex;
use crate::groups::TypeAssigner;

fn batch(events: serde_json::Value) -> Vec<CaptureEvent> {
    parse_v(json!({"api_key": TOKEN, "batch": events}))
        .unwrap()
        .events
}

fn identify(ty: &str, key: &str) -> serde_json::Value {
    json!({"event": "$groupidentify", "distinct_id": "u", "properties":
        {"$group_type": ty, "$group_key": key, "$group_set": {"a": 1}}})
}

/// What a run of the plan decided.
type Decided<'e> = (
    Vec<Vec<&'e str>>,
    Vec<(i64, String)>,
    IngestSummary,
    Vec<IngestWarning>,
);

/// Runs the plan the way a store does: row, insert (`fresh` says which are new), stored.
fn run<'e>(events: &'e [CaptureEvent], fresh: &[bool], max: u32) -> Decided<'e> {
    let mut plan = IngestPlan::new(TypeAssigner::new(
        [("known".to_owned(), GroupTypeIndex(0))],
        max,
    ));
    let mut keys = Vec::new();
    let mut updates = Vec::new();
    for (ev, fresh) in events.iter().zip(fresh) {
        let row = plan.row(ev);
        keys.push(row.group_keys.clone());
        if let Some(u) = plan.stored(ev, row, *fresh) {
            updates.push((u.index.0, u.identify.group_key.clone()));
        }
    }
    let (summary, warnings) = plan.finish();
    (keys, updates, summary, warnings)
}

#[test]
fn types_are_assigned_groups_first_then_the_identify_event_by_event() {
    let events = batch(json!([
        {"event": "e", "distinct_id": "u", "properties": {"$groups": {"b": "k1", "known": "k0"}}},
        identify("c", "acme"),
        {"event": "e", "distinct_id": "u", "properties": {"$groups": {"c": "acme", "": "x", "d": ""}}},
    ]));
    let (keys, updates, summary, warnings) = run(&events, &[true, true, true], 5);
    assert_eq!(keys, [vec!["k0", "k1"], vec![], vec!["", "", "acme"]]);
    assert_eq!(updates, [(2, "acme".to_owned())]);
    assert_eq!(
        (summary.stored, summary.group_updates, summary.warnings),
        (3, 1, 0)
    );
    assert!(warnings.is_empty());
}

#[test]
fn a_retry_applies_nothing_and_warns_about_nothing() {
    let events = batch(json!([
        identify("new", "a"),
        {"event": "e", "distinct_id": "u", "properties": {"$groups": {"x": "1", "y": "2"}}},
    ]));
    // Max 2 with one known: `x` takes the last index, `y` is over the limit.
    let (_, updates, summary, warnings) = run(&events, &[false, false], 2);
    assert!(updates.is_empty() && warnings.is_empty());
    assert_eq!((summary.stored, summary.duplicates), (0, 2));
    // A retried identify does not take a type: `x` gets index 1.
    let (keys, ..) = run(&events, &[false, true], 2);
    assert_eq!(keys[1], ["", "1"]);
}

#[test]
fn a_full_project_warns_once_per_event_and_type() {
    let events = batch(json!([
        {"event": "e", "distinct_id": "u", "properties": {"$groups": {"x": "1"}}},
        identify("y", "g"),
        {"uuid": "0190c4a1-0000-7000-8000-000000000001", "event": "$groupidentify", "distinct_id": "u",
         "properties": {"$group_type": "known"}},
    ]));
    let (keys, updates, summary, warnings) = run(&events, &[true, true, true], 1);
    assert_eq!(keys[0], Vec::<&str>::new());
    assert!(updates.is_empty());
    assert_eq!(summary.warnings, 3);
    let kinds: Vec<_> = warnings
        .iter()
        .map(|w| (w.kind, w.details["group_type"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (GROUP_TYPE_LIMIT_REACHED, json!("x")),
            (GROUP_TYPE_LIMIT_REACHED, json!("y")),
            (INVALID_GROUP_IDENTIFY, json!("known")),
        ]
    );
    assert_eq!(warnings[0].details["max_group_types"], json!(1));
    assert_eq!(warnings[0].details["event"], json!("e"));
    assert_eq!(
        warnings[2].details["event_uuid"],
        json!("0190c4a1-0000-7000-8000-000000000001")
    );
    assert_eq!(
        warnings[2].details["reason"],
        json!("$group_key is missing or blank.")
    );
}

#[test]
fn claiming_the_identify_type_early_keeps_the_order() {
    let events = batch(json!([
        identify("first", "a"),
        {"event": "e", "distinct_id": "u", "properties": {"$groups": {"second": "k"}}},
    ]));
    let mut plan = IngestPlan::new(TypeAssigner::new([], 5));
    assert!(plan.needs_new_types(&events));
    let rows: Vec<_> = events
        .iter()
        .map(|ev| {
            let row = plan.row(ev);
            plan.claim_identify_type(ev);
            row
        })
        .collect();
    assert_eq!(
        plan.take_new_types(),
        [
            ("first".to_owned(), GroupTypeIndex(0)),
            ("second".to_owned(), GroupTypeIndex(1))
        ]
    );
    assert_eq!(rows[1].group_keys, ["", "k"]);
    let update = plan.stored(&events[0], rows[0].clone(), true).unwrap();
    assert_eq!(update.index, GroupTypeIndex(0));
    assert!(!plan.needs_new_types(&events));
}

#[test]
fn the_idempotency_key_is_the_timestamp_as_sent_and_the_uuid() {
    let events = batch(json!([
        {"event": "e", "distinct_id": "u", "uuid": "0190c4a1-0000-7000-8000-000000000001",
         "timestamp": "2026-05-01T10:00:00+02:00"},
        {"event": "e", "distinct_id": "u", "uuid": "0190c4a1-0000-7000-8000-000000000001"},
    ]));
    let (ts, id) = events[0].idempotency_key();
    assert_eq!(ts, us("2026-05-01T08:00:00Z"));
    assert_eq!(id.to_string(), "0190c4a1-0000-7000-8000-000000000001");
    assert_eq!(events[1].idempotency_key().0, NO_TIMESTAMP);
    assert_eq!(
        events[0].merge_time_us(),
        events[0].timestamp_us.min(RECEIVED)
    );
}
