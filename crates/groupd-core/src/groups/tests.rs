//! The whole rule: named behaviours, then proptests of order independence and idempotence.
use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::merge::{OpKind, PropMeta, PropMetaMap, PropOp};

const NOW: i64 = 1_000_000;

/// An empty map that outlives any result borrowing it.
fn empty() -> &'static Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    &EMPTY
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// A group created by an empty identify at `t`.
fn group_at(t: i64) -> GroupSlot {
    let edit = Edit::Identify {
        set_once: empty(),
        set: empty(),
        unset: &[],
    };
    apply(GroupSlot::default(), &edit, t, NOW).slot
}

fn identify<'a>(
    set_once: &'a Map<String, Value>,
    set: &'a Map<String, Value>,
    unset: &'a [String],
) -> Edit<'a> {
    Edit::Identify {
        set_once,
        set,
        unset,
    }
}

fn props(slot: &GroupSlot) -> Map<String, Value> {
    slot.group.as_ref().expect("a group").properties.clone()
}

fn kinds(a: &Applied<'_>) -> Vec<(&'static str, &'static str, String)> {
    a.activity()
        .iter()
        .map(|r| {
            (
                r.activity.as_str(),
                r.action.as_str(),
                r.property.to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_first_identify_creates_the_group_at_its_event_time() {
    let (once, set) = (obj(json!({"first": 1})), obj(json!({"plan": "pro"})));
    let a = apply(GroupSlot::default(), &identify(&once, &set, &[]), 50, NOW);
    assert_eq!(a.outcome, Outcome::Created);
    let g = a.slot.group.as_ref().unwrap();
    assert_eq!((g.created_at_us, g.updated_at_us), (50, NOW));
    assert_eq!(g.properties, obj(json!({"first": 1, "plan": "pro"})));
    assert_eq!(
        kinds(&a),
        [
            ("create_group", "created", "first".to_owned()),
            ("create_group", "created", "plan".to_owned())
        ]
    );
    assert!(a.dirty && a.is_visible());
}

#[test]
fn an_identify_with_nothing_still_creates_the_group() {
    let a = apply(
        GroupSlot::default(),
        &identify(empty(), empty(), &[]),
        7,
        NOW,
    );
    assert_eq!(a.outcome, Outcome::Created);
    assert!(a.dirty && a.activity().is_empty() && props(&a.slot).is_empty());
}

#[test]
fn created_at_becomes_the_earliest_identify_and_moves_nothing_else() {
    let slot = group_at(50);
    let a = apply(slot, &identify(empty(), empty(), &[]), 20, NOW + 1);
    let g = a.slot.group.as_ref().unwrap();
    assert_eq!((g.created_at_us, g.updated_at_us), (20, NOW));
    assert!(a.dirty && !a.is_visible());
    let a = apply(a.slot, &identify(empty(), empty(), &[]), 90, NOW + 2);
    assert_eq!(a.slot.group.unwrap().created_at_us, 20);
    assert!(!a.dirty);
}

#[test]
fn identify_applies_set_once_then_set_then_unset() {
    let (once, set) = (obj(json!({"a": "once"})), obj(json!({"a": "set", "b": 1})));
    let unset = names(&["b"]);
    let a = apply(group_at(0), &identify(&once, &set, &unset), 10, NOW);
    assert_eq!(props(&a.slot), obj(json!({"a": "set"})));
    let effects: Vec<_> = a
        .changes
        .iter()
        .map(|c| (c.property.as_ref(), c.op, c.effect))
        .collect();
    assert_eq!(
        effects,
        [
            ("a", OpKind::SetOnce, Effect::Created),
            ("a", OpKind::Set, Effect::Set),
            ("b", OpKind::Set, Effect::Created),
            ("b", OpKind::Unset, Effect::Unset),
        ]
    );
    assert_eq!(
        kinds(&a),
        [
            ("create_property", "created", "a".to_owned()),
            ("update_property", "changed", "a".to_owned()),
            ("create_property", "created", "b".to_owned()),
            ("update_property", "deleted", "b".to_owned()),
        ]
    );
    // The change stream sees one difference: `b` came and went.
    let diff: Vec<_> = a
        .diff()
        .iter()
        .map(|d| (d.property, d.old.cloned(), d.new.cloned()))
        .collect();
    assert_eq!(diff, [("a", None, Some(json!("set")))]);
}

#[test]
fn an_older_set_loses_to_a_newer_one() {
    let (new, old) = (obj(json!({"plan": "new"})), obj(json!({"plan": "old"})));
    let a = apply(group_at(0), &identify(empty(), &new, &[]), 20, NOW);
    let b = apply(a.slot, &identify(empty(), &old, &[]), 10, NOW + 5);
    assert_eq!(props(&b.slot)["plan"], json!("new"));
    assert_eq!(b.changes[0].effect, Effect::Outdated);
    assert_eq!(b.changes[0].previous, None);
    assert!(!b.dirty && b.activity().is_empty());
    assert_eq!(b.slot.group.unwrap().updated_at_us, NOW);
}

#[test]
fn re_setting_a_value_records_no_activity_but_moves_its_time() {
    let set = obj(json!({"a": 1}));
    let a = apply(group_at(0), &identify(empty(), &set, &[]), 10, NOW);
    let b = apply(a.slot, &identify(empty(), &set, &[]), 30, NOW + 9);
    assert_eq!(b.changes[0].effect, Effect::Unchanged);
    assert_eq!(b.changes[0].previous, Some(json!(1)));
    assert!(b.dirty && !b.is_visible() && b.activity().is_empty());
    let g = b.slot.group.unwrap();
    assert_eq!(g.meta["a"], PropMeta(30, OpKind::Set));
    assert_eq!(g.updated_at_us, NOW);
}

#[test]
fn an_unset_leaves_a_tombstone_an_older_set_cannot_pass() {
    let set = obj(json!({"a": 1}));
    let unset = names(&["a"]);
    let a = apply(group_at(0), &identify(empty(), empty(), &unset), 20, NOW);
    assert_eq!(a.changes[0].effect, Effect::Unchanged);
    let b = apply(a.slot, &identify(empty(), &set, &[]), 10, NOW);
    assert!(props(&b.slot).is_empty());
    assert_eq!(b.changes[0].effect, Effect::Outdated);
}

#[test]
fn create_group_refuses_an_existing_group() {
    let p = obj(json!({"x": 1}));
    let a = apply(group_at(0), &Edit::Create { properties: &p }, NOW, NOW);
    assert_eq!(a.refusal(), Some(&Refusal::GroupExists));
    assert!(!a.dirty && a.changes.is_empty());
    assert!(props(&a.slot).is_empty());
}

#[test]
fn create_sets_every_property_at_its_time() {
    let p = obj(json!({"zeta": 1, "alpha": {"b": 2}}));
    let a = apply(
        GroupSlot::default(),
        &Edit::Create { properties: &p },
        NOW,
        NOW,
    );
    assert_eq!(a.outcome, Outcome::Created);
    let g = a.slot.group.as_ref().unwrap();
    assert_eq!((g.created_at_us, g.updated_at_us), (NOW, NOW));
    assert_eq!(g.properties.keys().collect::<Vec<_>>(), ["zeta", "alpha"]);
    assert_eq!(
        kinds(&a),
        [
            ("create_group", "created", "zeta".to_owned()),
            ("create_group", "created", "alpha".to_owned())
        ]
    );
    let detail = a.activity()[0].detail();
    assert_eq!(detail["changes"][0]["before"], Value::Null);
    assert_eq!(detail["changes"][0]["after"], json!(1));
    assert_eq!(detail["name"], json!("zeta"));
}

#[test]
fn a_property_edit_of_a_missing_group_is_refused() {
    let op = PropOp::Set(json!(1));
    for edit in [
        Edit::Property {
            property: "a",
            op: &op,
        },
        Edit::Patch {
            set: empty(),
            unset: &[],
        },
        Edit::Delete,
    ] {
        let a = apply(GroupSlot::default(), &edit, NOW, NOW);
        assert_eq!(a.refusal(), Some(&Refusal::GroupMissing), "{edit:?}");
        assert_eq!(a.slot, GroupSlot::default());
    }
}

#[test]
fn a_rest_unset_of_an_absent_property_is_refused() {
    let a = apply(
        group_at(0),
        &Edit::Property {
            property: "nope",
            op: &PropOp::Unset,
        },
        NOW,
        NOW,
    );
    assert_eq!(a.refusal(), Some(&Refusal::PropertyMissing("nope".into())));
}

#[test]
fn rest_edits_name_their_activity_by_what_changed() {
    let set = obj(json!({"a": 1}));
    let mut slot = apply(group_at(0), &identify(empty(), &set, &[]), 10, NOW).slot;
    let (two, three) = (PropOp::Set(json!(2)), PropOp::Set(json!(3)));
    let steps: [(&str, &PropOp, (&str, &str)); 3] = [
        ("a", &two, ("update_property", "changed")),
        ("b", &three, ("create_property", "created")),
        ("a", &PropOp::Unset, ("update_property", "deleted")),
    ];
    for (i, (property, op, want)) in steps.into_iter().enumerate() {
        let a = apply(
            slot,
            &Edit::Property { property, op },
            20 + i as i64,
            NOW + 1,
        );
        assert_eq!(kinds(&a), [(want.0, want.1, property.to_owned())]);
        assert_eq!(a.slot.group.as_ref().unwrap().updated_at_us, NOW + 1);
        slot = a.slot;
    }
    assert_eq!(props(&slot), obj(json!({"b": 3})));
}

#[test]
fn a_rest_set_once_of_a_set_property_changes_nothing() {
    let set = obj(json!({"plan": "pro"}));
    let a = apply(group_at(0), &identify(empty(), &set, &[]), 10, NOW);
    let op = PropOp::SetOnce(json!("ignored"));
    let b = apply(
        a.slot,
        &Edit::Property {
            property: "plan",
            op: &op,
        },
        20,
        NOW + 1,
    );
    assert_eq!(b.outcome, Outcome::Updated);
    assert_eq!(b.changes[0].effect, Effect::Outdated);
    assert_eq!(props(&b.slot)["plan"], json!("pro"));
}

#[test]
fn a_patch_is_all_or_nothing() {
    let set = obj(json!({"a": 1, "b": 2}));
    let both = names(&["c", "b"]);
    let a = apply(
        group_at(0),
        &Edit::Patch {
            set: &set,
            unset: &both,
        },
        10,
        NOW,
    );
    assert_eq!(a.refusal(), Some(&Refusal::SetAndUnset("b".into())));
    assert!(props(&a.slot).is_empty() && !a.dirty);
    let unset = names(&["c"]);
    let a = apply(
        a.slot,
        &Edit::Patch {
            set: &set,
            unset: &unset,
        },
        10,
        NOW,
    );
    assert_eq!(a.outcome, Outcome::Updated);
    assert_eq!(props(&a.slot), set);
    // The absent `c` is tombstoned: an older set of it stays out.
    assert_eq!(
        a.slot.group.as_ref().unwrap().meta["c"],
        PropMeta(10, OpKind::Unset)
    );
}

#[test]
fn a_deletion_refuses_older_edits_and_a_newer_one_starts_afresh() {
    let set = obj(json!({"plan": "pro", "seats": 3}));
    let a = apply(group_at(0), &identify(empty(), &set, &[]), 10, NOW);
    let d = apply(a.slot, &Edit::Delete, 100, NOW + 1);
    assert_eq!(d.outcome, Outcome::Deleted);
    assert_eq!(
        d.slot,
        GroupSlot {
            group: None,
            deleted_at_us: Some(100)
        }
    );
    let removed: Vec<_> = d
        .changes
        .iter()
        .map(|c| (c.property.as_ref(), c.effect, c.previous.clone()))
        .collect();
    assert_eq!(
        removed,
        [
            ("plan", Effect::Unset, Some(json!("pro"))),
            ("seats", Effect::Unset, Some(json!(3)))
        ]
    );
    assert_eq!(kinds(&d), [("delete_group", "deleted", String::new())]);
    let counts: Vec<_> = d
        .count_changes()
        .iter()
        .map(|c| (c.property, c.value.cloned(), c.by))
        .collect();
    assert_eq!(
        counts,
        [
            ("plan", Some(json!("pro")), -1),
            ("plan", None, -1),
            ("seats", Some(json!(3)), -1),
            ("seats", None, -1)
        ]
    );

    let late = obj(json!({"late": true}));
    let refused = apply(d.slot.clone(), &identify(empty(), &late, &[]), 99, NOW + 2);
    assert_eq!(
        refused.refusal(),
        Some(&Refusal::GroupDeleted { deleted_at_us: 100 })
    );
    assert_eq!(refused.slot, d.slot);
    let p = obj(json!({"x": 1}));
    let refused = apply(
        d.slot.clone(),
        &Edit::Create { properties: &p },
        50,
        NOW + 2,
    );
    assert_eq!(
        refused.refusal(),
        Some(&Refusal::GroupDeleted { deleted_at_us: 100 })
    );

    let again = apply(d.slot, &identify(empty(), &late, &[]), 100, NOW + 3);
    assert_eq!(again.outcome, Outcome::Created);
    let g = again.slot.group.as_ref().unwrap();
    assert_eq!((g.created_at_us, g.properties.clone()), (100, late.clone()));
    assert_eq!(again.slot.deleted_at_us, Some(100));
    // The restarted group still refuses what predates the deletion.
    let old = apply(again.slot, &identify(empty(), &set, &[]), 40, NOW + 4);
    assert_eq!(
        old.refusal(),
        Some(&Refusal::GroupDeleted { deleted_at_us: 100 })
    );
}

#[test]
fn count_changes_net_out_within_one_edit() {
    let (once, set) = (obj(json!({"a": 1})), obj(json!({"a": 2, "b": "x"})));
    let unset = names(&["b"]);
    let a = apply(GroupSlot::default(), &identify(&once, &set, &unset), 5, NOW);
    let counts: Vec<_> = a
        .count_changes()
        .iter()
        .map(|c| (c.property, c.value.cloned(), c.by))
        .collect();
    assert_eq!(counts, [("a", None, 1), ("a", Some(json!(2)), 1)]);
}

#[test]
fn the_description_is_a_history_of_versions() {
    let set = obj(json!({"plan": "pro"}));
    let a = apply(group_at(0), &identify(empty(), &set, &[]), 10, NOW);
    let op = PropOp::Set(json!("enterprise"));
    let b = apply(
        a.slot,
        &Edit::Property {
            property: "plan",
            op: &op,
        },
        20,
        NOW + 1,
    );
    let c = &b.changes[0];
    assert_eq!(
        (
            c.property.as_ref(),
            c.op,
            c.value,
            c.previous.clone(),
            c.event_us,
            c.effect
        ),
        (
            "plan",
            OpKind::Set,
            Some(&json!("enterprise")),
            Some(json!("pro")),
            20,
            Effect::Set
        )
    );
    let diff: Vec<_> = b
        .diff()
        .iter()
        .map(|d| (d.property, d.old.cloned(), d.new.cloned()))
        .collect();
    assert_eq!(
        diff,
        [("plan", Some(json!("pro")), Some(json!("enterprise")))]
    );
}

// ---------------------------------------------------------------------------------------------
// Order independence and idempotence

/// An edit with owned parts, so proptest can generate and shuffle it.
#[derive(Debug, Clone)]
enum Gen {
    Identify(Map<String, Value>, Map<String, Value>, Vec<String>),
    Set(String, PropOp),
    Patch(Map<String, Value>, Vec<String>),
}

impl Gen {
    fn edit(&self) -> Edit<'_> {
        match self {
            Gen::Identify(once, set, unset) => Edit::Identify {
                set_once: once,
                set,
                unset,
            },
            Gen::Set(property, op) => Edit::Property { property, op },
            Gen::Patch(set, unset) => Edit::Patch { set, unset },
        }
    }
}

fn gen_edit() -> impl Strategy<Value = Gen> {
    let key = prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(str::to_owned);
    let val = (0..3i64).prop_map(|v| json!(v));
    let map = prop::collection::btree_map(key.clone(), val.clone(), 0..3)
        .prop_map(|m| m.into_iter().collect::<Map<String, Value>>());
    let list = prop::collection::vec(key.clone(), 0..3);
    prop_oneof![
        (map.clone(), map.clone(), list.clone()).prop_map(|(o, s, u)| Gen::Identify(o, s, u)),
        (
            key,
            prop_oneof![
                val.clone().prop_map(PropOp::Set),
                val.prop_map(PropOp::SetOnce)
            ]
        )
            .prop_map(|(k, op)| Gen::Set(k, op)),
        // A patch naming a property twice is refused whatever the state: order-independent too.
        (map, list).prop_map(|(s, u)| Gen::Patch(s, u)),
    ]
}

/// The stored state that must not depend on arrival order: the properties (as a set: key order is
/// arrival order), their metadata, `created_at`. (`updated_at` is server time by definition.)
fn outcome_of(slot: &GroupSlot) -> (BTreeMap<String, Value>, PropMetaMap, i64) {
    let g = slot.group.as_ref().expect("the group exists throughout");
    (
        g.properties.clone().into_iter().collect(),
        g.meta.clone(),
        g.created_at_us,
    )
}

/// Applies edits (each with its event time) in order to a group that exists from the start.
fn run(edits: &[(Gen, i64)]) -> GroupSlot {
    edits.iter().fold(group_at(1_000), |slot, (e, t)| {
        apply(slot, &e.edit(), *t, NOW).slot
    })
}

/// Deterministic Fisher-Yates from a seed.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut s = seed | 1;
    for i in (1..v.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
}

/// Distinct event times, one per edit (equal times are ordered by arrival, by design).
fn timed(edits: Vec<Gen>) -> Vec<(Gen, i64)> {
    edits
        .into_iter()
        .enumerate()
        .map(|(i, e)| (e, (i as i64) * 37 % 211))
        .collect()
}

proptest! {
    /// Any arrival order of the same edits gives the same group.
    #[test]
    fn the_rule_is_order_independent(
        edits in prop::collection::vec(gen_edit(), 0..16),
        seed in any::<u64>(),
    ) {
        let edits = timed(edits);
        let mut shuffled = edits.clone();
        shuffle(&mut shuffled, seed);
        prop_assert_eq!(outcome_of(&run(&edits)), outcome_of(&run(&shuffled)));
    }

    /// Edits delivered again (retries, at any later point) change nothing.
    #[test]
    fn the_rule_is_idempotent(
        edits in prop::collection::vec(gen_edit(), 0..16),
        repeats in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        seed in any::<u64>(),
    ) {
        let edits = timed(edits);
        let once = outcome_of(&run(&edits));
        let mut with_duplicates = edits.clone();
        if !edits.is_empty() {
            for r in &repeats {
                with_duplicates.push(edits[r.index(edits.len())].clone());
            }
        }
        shuffle(&mut with_duplicates, seed);
        prop_assert_eq!(&outcome_of(&run(&with_duplicates)), &once);
        // Applying the final state's edits a second time over it moves nothing.
        let twice: Vec<_> = edits.iter().chain(edits.iter()).cloned().collect();
        prop_assert_eq!(outcome_of(&run(&twice)), once);
    }

    /// A second application of an edit right after the first leaves the state as it was.
    #[test]
    fn applying_an_edit_again_changes_nothing(
        before in prop::collection::vec(gen_edit(), 0..8),
        edit in gen_edit(),
        t in 0i64..300,
    ) {
        let slot = run(&timed(before));
        let once = apply(slot, &edit.edit(), t, NOW).slot;
        let again = apply(once.clone(), &edit.edit(), t, NOW + 1);
        prop_assert_eq!(outcome_of(&again.slot), outcome_of(&once));
        // Values may be written again (a set then unset of one name), but none differs after.
        prop_assert!(again.diff().is_empty());
    }
}
