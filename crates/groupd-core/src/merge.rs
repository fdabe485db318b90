//! Order-independent merge of one property: the step [`crate::groups::apply`] takes per operation.
//!
//! Every group keeps, per property, the time and kind of the operation that decided it. With that,
//! the final properties are a function of the *set* of operations, whatever order they arrive in:
//! - `set` and `unset` are last-writer-wins by event time; an equal time goes to the later arrival;
//!   an unset leaves a tombstone so an older set cannot resurrect the key;
//! - `set_once` decides only a property no set/unset has touched; among set_once the earliest wins.
//!
//! A property present without metadata (e.g. imported) counts as set at the beginning of time.
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One operation on one property.
#[derive(Debug, Clone, PartialEq)]
pub enum PropOp {
    /// `$group_set` / REST `update_property`.
    Set(Value),
    /// `$group_set_once`.
    SetOnce(Value),
    /// `$group_unset` / REST `delete_property`.
    Unset,
}

/// The kind of operation that decided a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    /// Decided by a set.
    #[serde(rename = "s")]
    Set,
    /// Decided by a set_once.
    #[serde(rename = "o")]
    SetOnce,
    /// A tombstone left by an unset.
    #[serde(rename = "u")]
    Unset,
}

/// When and how a property was last decided. Serialised as `[time_us, "s"|"o"|"u"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropMeta(pub i64, pub OpKind);

/// Per-property metadata of one group, tombstones included.
pub type PropMetaMap = BTreeMap<String, PropMeta>;

/// A visible change made by an operation (used for the activity log).
#[derive(Debug, Clone, PartialEq)]
pub struct PropChange {
    /// Property name.
    pub key: String,
    /// Value before, `None` when absent.
    pub before: Option<Value>,
    /// Value after, `None` when removed.
    pub after: Option<Value>,
}

/// What [`decide`] did with one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Older than what decided the property (or a set_once after any set): nothing moved.
    Lost,
    /// It decided the property, whose value before was `before` (`None`: absent). Metadata moved
    /// even when the value did not (re-setting a value, unsetting an absent property).
    Won {
        /// The value it replaced.
        before: Option<Value>,
    },
}

/// Decides one property by an operation of `kind` (with `value`, ignored for an unset) at event
/// time `t`: on a win the value (or its absence) and the metadata are written, and the replaced
/// value is handed back (moved out, not copied). The value is copied only when it wins.
pub fn decide(
    props: &mut Map<String, Value>,
    meta: &mut PropMetaMap,
    key: &str,
    kind: OpKind,
    value: Option<&Value>,
    t: i64,
) -> Decision {
    let current = meta.get(key).copied().or_else(|| {
        props
            .contains_key(key)
            .then_some(PropMeta(i64::MIN, OpKind::Set))
    });
    let wins = match (kind, current) {
        (_, None) => true,
        (OpKind::Set | OpKind::Unset, Some(PropMeta(_, OpKind::SetOnce))) => true,
        (OpKind::Set | OpKind::Unset, Some(PropMeta(old, _))) => t >= old,
        (OpKind::SetOnce, Some(PropMeta(old, OpKind::SetOnce))) => t < old,
        (OpKind::SetOnce, Some(_)) => false,
    };
    if !wins {
        return Decision::Lost;
    }
    let before = match (kind, value) {
        (OpKind::Set | OpKind::SetOnce, Some(v)) => insert_in_place(props, key, v.clone()),
        _ => props.shift_remove(key),
    };
    meta.insert(key.to_owned(), PropMeta(t, kind));
    Decision::Won { before }
}

/// Writes `v` under `key`, keeping the key's position when it exists.
fn insert_in_place(props: &mut Map<String, Value>, key: &str, v: Value) -> Option<Value> {
    match props.get_mut(key) {
        Some(slot) => Some(std::mem::replace(slot, v)),
        None => {
            props.insert(key.to_owned(), v);
            None
        }
    }
}

impl PropOp {
    /// The kind of metadata this operation leaves when it wins.
    pub fn kind(&self) -> OpKind {
        match self {
            PropOp::Set(_) => OpKind::Set,
            PropOp::SetOnce(_) => OpKind::SetOnce,
            PropOp::Unset => OpKind::Unset,
        }
    }

    /// The value it writes (`None` for an unset).
    pub fn value(&self) -> Option<&Value> {
        match self {
            PropOp::Set(v) | PropOp::SetOnce(v) => Some(v),
            PropOp::Unset => None,
        }
    }
}

/// Applies `op` at event time `t` to one property of a group. Returns the visible change, if the
/// value changed (metadata may change without a visible change, e.g. re-setting the same value).
pub fn apply(
    props: &mut Map<String, Value>,
    meta: &mut PropMetaMap,
    key: &str,
    op: PropOp,
    t: i64,
) -> Option<PropChange> {
    let Decision::Won { before } = decide(props, meta, key, op.kind(), op.value(), t) else {
        return None;
    };
    let after = props.get(key).cloned();
    (before != after).then(|| PropChange {
        key: key.to_owned(),
        before,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn run(ops: &[(String, PropOp, i64)]) -> (BTreeMap<String, Value>, PropMetaMap) {
        let mut props = Map::new();
        let mut meta = PropMetaMap::new();
        for (k, op, t) in ops {
            apply(&mut props, &mut meta, k, op.clone(), *t);
        }
        (props.into_iter().collect(), meta)
    }

    #[test]
    fn later_set_wins_whatever_the_arrival_order() {
        let a = ("plan".to_owned(), PropOp::Set(json!("free")), 10);
        let b = ("plan".to_owned(), PropOp::Set(json!("pro")), 20);
        assert_eq!(run(&[a.clone(), b.clone()]).0["plan"], json!("pro"));
        assert_eq!(run(&[b, a]).0["plan"], json!("pro"));
    }

    #[test]
    fn a_tombstone_stops_an_older_set() {
        let ops = [
            ("plan".to_owned(), PropOp::Unset, 20),
            ("plan".to_owned(), PropOp::Set(json!("free")), 10),
        ];
        assert!(!run(&ops).0.contains_key("plan"));
    }

    #[test]
    fn set_once_keeps_the_earliest_and_loses_to_any_set() {
        let ops = [
            ("a".to_owned(), PropOp::SetOnce(json!(2)), 20),
            ("a".to_owned(), PropOp::SetOnce(json!(1)), 10),
        ];
        assert_eq!(run(&ops).0["a"], json!(1));
        let ops = [
            ("a".to_owned(), PropOp::Set(json!("s")), 5),
            ("a".to_owned(), PropOp::SetOnce(json!("o")), 1),
        ];
        assert_eq!(run(&ops).0["a"], json!("s"));
        let ops = [
            ("a".to_owned(), PropOp::Unset, 5),
            ("a".to_owned(), PropOp::SetOnce(json!("o")), 1),
        ];
        assert!(!run(&ops).0.contains_key("a"));
    }

    #[test]
    fn equal_times_go_to_the_later_arrival() {
        let ops = [
            ("a".to_owned(), PropOp::Set(json!(1)), 7),
            ("a".to_owned(), PropOp::Set(json!(2)), 7),
        ];
        assert_eq!(run(&ops).0["a"], json!(2));
    }

    #[test]
    fn an_unmarked_existing_property_counts_as_set_long_ago() {
        let mut props = Map::new();
        props.insert("a".into(), json!("imported"));
        let mut meta = PropMetaMap::new();
        assert!(apply(&mut props, &mut meta, "a", PropOp::SetOnce(json!("x")), 1).is_none());
        let ch = apply(&mut props, &mut meta, "a", PropOp::Set(json!("y")), 1).unwrap();
        assert_eq!(
            (ch.before, ch.after),
            (Some(json!("imported")), Some(json!("y")))
        );
    }

    #[test]
    fn re_setting_the_same_value_is_no_visible_change() {
        let mut props = Map::new();
        let mut meta = PropMetaMap::new();
        assert!(apply(&mut props, &mut meta, "a", PropOp::Set(json!(1)), 1).is_some());
        assert!(apply(&mut props, &mut meta, "a", PropOp::Set(json!(1)), 2).is_none());
        assert_eq!(meta["a"], PropMeta(2, OpKind::Set));
    }

    fn op_strategy() -> impl Strategy<Value = (String, PropOp)> {
        let key = prop::sample::select(vec!["a", "b", "c"]).prop_map(str::to_owned);
        let val = (0..4i64).prop_map(|v| json!(v));
        let op = prop_oneof![
            val.clone().prop_map(PropOp::Set),
            val.prop_map(PropOp::SetOnce),
            Just(PropOp::Unset),
        ];
        (key, op)
    }

    proptest! {
        /// Any permutation of operations with distinct times gives the same properties and metadata.
        #[test]
        fn merge_is_order_independent(
            ops in prop::collection::vec(op_strategy(), 0..24),
            seed in any::<u64>(),
        ) {
            // Distinct times: the position in the generated list, spread out.
            let timed: Vec<(String, PropOp, i64)> = ops
                .into_iter()
                .enumerate()
                .map(|(i, (k, op))| (k, op, (i as i64) * 7 % 101))
                .collect();
            let mut shuffled = timed.clone();
            // Deterministic Fisher-Yates from the seed.
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(run(&timed), run(&shuffled));
        }
    }
}
