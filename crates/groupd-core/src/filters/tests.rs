use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;

struct Ev {
    name: &'static str,
    props: Map<String, Value>,
    group: Map<String, Value>,
}

impl EventFacts for Ev {
    fn event(&self) -> &str {
        self.name
    }
    fn property(&self, key: &str) -> Option<&Value> {
        self.props.get(key)
    }
    fn group_property(&self, index: GroupTypeIndex, key: &str) -> Option<&Value> {
        (index == GroupTypeIndex(0))
            .then(|| self.group.get(key))
            .flatten()
    }
}

fn ev(name: &'static str, props: Value) -> Ev {
    Ev {
        name,
        props: props.as_object().cloned().unwrap_or_default(),
        group: json!({"plan": "pro", "seats": 12})
            .as_object()
            .cloned()
            .unwrap(),
    }
}

fn prop(filter: Value) -> EventFilter {
    EventFilter::parse(&json!({"properties": [filter]})).expect("a valid filter")
}

#[test]
fn events_entries_are_ored_and_properties_anded() {
    let f = EventFilter::parse(&json!({
        "events": [{"id": "a", "properties": []}, {"id": "b", "properties": [{"key": "x", "value": 1}]}],
        "properties": [{"key": "env", "value": "prod", "operator": "exact", "type": "event"}]
    }))
    .unwrap();
    assert!(f.matches(&ev("a", json!({"env": "prod"}))));
    assert!(!f.matches(&ev("a", json!({"env": "dev"}))));
    assert!(f.matches(&ev("b", json!({"env": "prod", "x": 1}))));
    assert!(!f.matches(&ev("b", json!({"env": "prod", "x": 2}))));
    assert!(!f.matches(&ev("c", json!({"env": "prod"}))));
}

#[test]
fn a_null_event_id_is_any_event_and_no_entries_are_every_event() {
    let any = EventFilter::parse(&json!({"events": [{"id": null}]})).unwrap();
    assert!(any.matches(&ev("whatever", json!({}))) && !any.is_empty());
    let none = EventFilter::parse(&json!({"events": [], "properties": []})).unwrap();
    assert!(none.is_empty() && none.matches(&ev("x", json!({}))));
}

#[test]
fn each_operator_compares_as_hogql_does() {
    let cases: &[(Value, Value, bool)] = &[
        (
            json!({"key": "p", "value": "pro"}),
            json!({"p": "pro"}),
            true,
        ),
        (
            json!({"key": "p", "value": ["a", "pro"], "operator": "exact"}),
            json!({"p": "pro"}),
            true,
        ),
        (
            json!({"key": "p", "value": 12, "operator": "exact"}),
            json!({"p": "12.0"}),
            true,
        ),
        (
            json!({"key": "p", "value": true, "operator": "exact"}),
            json!({"p": "true"}),
            true,
        ),
        (
            json!({"key": "p", "value": "pro", "operator": "is_not"}),
            json!({}),
            true,
        ),
        (
            json!({"key": "p", "value": ["a", "b"], "operator": "is_not"}),
            json!({"p": "a"}),
            false,
        ),
        (
            json!({"key": "p", "value": "RO", "operator": "icontains"}),
            json!({"p": "Pro"}),
            true,
        ),
        (
            json!({"key": "p", "value": "ro", "operator": "icontains"}),
            json!({}),
            false,
        ),
        (
            json!({"key": "p", "value": "ro", "operator": "not_icontains"}),
            json!({}),
            true,
        ),
        (
            json!({"key": "p", "value": "^p.o$", "operator": "regex"}),
            json!({"p": "pro"}),
            true,
        ),
        (
            json!({"key": "p", "value": "^x", "operator": "not_regex"}),
            json!({"p": "pro"}),
            true,
        ),
        (
            json!({"key": "n", "value": 10, "operator": "gt"}),
            json!({"n": 12}),
            true,
        ),
        (
            json!({"key": "n", "value": "10", "operator": "gte"}),
            json!({"n": "10"}),
            true,
        ),
        (
            json!({"key": "n", "value": 10, "operator": "lt"}),
            json!({"n": "abc"}),
            false,
        ),
        (
            json!({"key": "n", "value": 10, "operator": "lte"}),
            json!({}),
            false,
        ),
        (
            json!({"key": "n", "operator": "is_set"}),
            json!({"n": null}),
            false,
        ),
        (
            json!({"key": "n", "operator": "is_set"}),
            json!({"n": 0}),
            true,
        ),
        (
            json!({"key": "n", "operator": "is_not_set"}),
            json!({"n": null}),
            true,
        ),
        (
            json!({"key": "plan", "value": "pro", "type": "group", "group_type_index": 0}),
            json!({}),
            true,
        ),
        (
            json!({"key": "seats", "value": 20, "operator": "lt", "type": "group", "group_type_index": 0}),
            json!({}),
            true,
        ),
        (
            json!({"key": "plan", "value": "pro", "type": "group", "group_type_index": 1}),
            json!({}),
            false,
        ),
    ];
    for (filter, props, want) in cases {
        assert_eq!(
            prop(filter.clone()).matches(&ev("e", props.clone())),
            *want,
            "{filter} on {props}"
        );
    }
}

#[test]
fn bad_filters_are_refused_with_a_sentence() {
    let cases: &[(Value, &str)] = &[
        (json!([]), "Filters must be an object."),
        (json!({"events": {}}), "filters.events must be a list."),
        (
            json!({"events": [{"id": 3}]}),
            "filters.events[0].id must be a string or null.",
        ),
        (
            json!({"properties": [{"value": 1}]}),
            "filters.properties[0].key must be a non-empty string.",
        ),
        (
            json!({"properties": [{"key": "a", "value": 1, "operator": "near"}]}),
            "filters.properties[0].operator 'near' is not supported.",
        ),
        (
            json!({"properties": [{"key": "a", "value": "(", "operator": "regex"}]}),
            "filters.properties[0].value is not a valid regex.",
        ),
        (
            json!({"properties": [{"key": "a", "operator": "exact"}]}),
            "filters.properties[0].value is required for operator 'exact'.",
        ),
        (
            json!({"properties": [{"key": "a", "value": [1], "operator": "gt"}]}),
            "filters.properties[0].value must be a string, number or boolean.",
        ),
        (
            json!({"properties": [{"key": "a", "value": 1, "type": "person"}]}),
            "filters.properties[0].type 'person' is not supported (expected 'event' or 'group').",
        ),
        (
            json!({"properties": [{"key": "a", "value": 1, "type": "group"}]}),
            "filters.properties[0].group_type_index is required for a group property filter.",
        ),
        (
            json!({"events": [{"id": "x", "properties": [{"key": ""}]}]}),
            "filters.events[0].properties[0].key must be a non-empty string.",
        ),
    ];
    for (v, detail) in cases {
        let e = EventFilter::parse(v).expect_err("refused");
        assert_eq!(e.detail, *detail, "{v}");
    }
}

#[test]
fn group_indexes_lists_each_read_type_once() {
    let f = EventFilter::parse(&json!({
        "events": [{"id": "a", "properties": [{"key": "k", "value": 1, "type": "group", "group_type_index": 2}]}],
        "properties": [{"key": "k", "value": 1, "type": "group", "group_type_index": 0},
                       {"key": "j", "value": 1, "type": "group", "group_type_index": 2}]
    }))
    .unwrap();
    assert_eq!(f.group_indexes(), [GroupTypeIndex(0), GroupTypeIndex(2)]);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z(\\[*+?^$]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("events".to_owned()),
                    Just("properties".to_owned()),
                    Just("key".to_owned()),
                    Just("value".to_owned()),
                    Just("operator".to_owned()),
                    Just("type".to_owned()),
                    Just("id".to_owned()),
                    Just("group_type_index".to_owned())
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Any JSON either compiles or is refused, and a compiled filter decides any event.
    #[test]
    fn no_input_panics(filters in arb_json(), props in arb_json()) {
        if let Ok(f) = EventFilter::parse(&filters) {
            let _ = f.matches(&ev("e", props));
        }
    }
}
