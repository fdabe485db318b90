//! [`apply`]: one edit on one group slot.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{Action, Activity, ActivityRecord, CountChange, GroupSlot, GroupState};
use crate::merge::{self, Decision, OpKind, PropOp};

/// A change to one group, borrowing what it writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Edit<'a> {
    /// `$groupidentify` (and an import line): creates the group if needed, then
    /// `$group_set_once`, `$group_set` and `$group_unset`, in that order, by the merge rules.
    /// `created_at` becomes the earliest event time seen. Never refused but by a deletion.
    Identify {
        /// `$group_set_once`.
        set_once: &'a Map<String, Value>,
        /// `$group_set`.
        set: &'a Map<String, Value>,
        /// `$group_unset`.
        unset: &'a [String],
    },
    /// REST create: a new group with these properties set. Refused when the group exists.
    Create {
        /// The properties, in order.
        properties: &'a Map<String, Value>,
    },
    /// REST update or delete of one property of an existing group. Unsetting a property the
    /// group does not hold is refused.
    Property {
        /// The property.
        property: &'a str,
        /// What to do to it.
        op: &'a PropOp,
    },
    /// Several properties of an existing group at once (`PATCH`), all or nothing: `set`, then
    /// `unset`, by the merge rules like an identify (an unset of an absent property leaves a
    /// tombstone, so a retried patch is harmless). Refused whole when a property is both set and
    /// unset, which says nothing clear.
    Patch {
        /// The properties to set.
        set: &'a Map<String, Value>,
        /// The properties to remove.
        unset: &'a [String],
    },
    /// Deletes the group as it stands, leaving a tombstone at the edit's event time.
    Delete,
}

/// Why an edit changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A create of a group that exists.
    GroupExists,
    /// An edit of a group that does not exist.
    GroupMissing,
    /// A REST unset of a property the group does not hold.
    PropertyMissing(String),
    /// A patch that both sets and unsets this property.
    SetAndUnset(String),
    /// The edit is dated before the group's deletion.
    GroupDeleted {
        /// The deletion's event time.
        deleted_at_us: i64,
    },
}

/// What happened to the group as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A group now exists where none was (a first identify, a create, an edit after a deletion).
    Created,
    /// The existing group took the edit (see [`Applied::changes`] for what moved).
    Updated,
    /// The group was deleted.
    Deleted,
    /// Nothing changed.
    Refused(Refusal),
}

/// What one operation did to its property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The property appeared.
    Created,
    /// Its value changed.
    Set,
    /// It was removed.
    Unset,
    /// The operation decided the property but its value stayed (the same value again, or an
    /// unset of an absent property, which still leaves a tombstone).
    Unchanged,
    /// The property was decided by a newer operation (or a set_once met an earlier one, or any
    /// set): the operation changed nothing.
    Outdated,
}

impl Effect {
    /// Whether the property's value changed.
    pub fn is_visible(self) -> bool {
        matches!(self, Effect::Created | Effect::Set | Effect::Unset)
    }
}

/// One operation of an edit on one property: a version in the property's history.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyChange<'a> {
    /// The property.
    pub property: Cow<'a, str>,
    /// The operation.
    pub op: OpKind,
    /// The value it writes (`None` for an unset).
    pub value: Option<&'a Value>,
    /// The property's value just before (`None`: absent). `None` for an [`Effect::Outdated`]
    /// operation, which replaced nothing: its predecessor in time is for a history to find.
    pub previous: Option<Value>,
    /// The event time it is ordered by (µs).
    pub event_us: i64,
    /// What it did.
    pub effect: Effect,
}

/// One property's visible difference over a whole edit: a change-stream entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDiff<'a> {
    /// The property.
    pub property: &'a str,
    /// Its value before the edit (`None`: absent).
    pub old: Option<&'a Value>,
    /// Its value after (`None`: absent).
    pub new: Option<&'a Value>,
}

/// The result of [`apply`].
#[derive(Debug, Clone, PartialEq)]
pub struct Applied<'a> {
    /// The slot after the edit (as before when refused).
    pub slot: GroupSlot,
    /// What happened to the group.
    pub outcome: Outcome,
    /// Every operation of the edit, in order (for a deletion, an unset per property it held).
    pub changes: Vec<PropertyChange<'a>>,
    /// Whether the stored slot differs (metadata and times included): write it back only then.
    pub dirty: bool,
}

/// Applies `edit`, dated `event_us` (the time the merge rules order by), to `slot` at server time
/// `now_us` (what `updated_at` records). Pure: the result depends on nothing else.
pub fn apply<'a>(slot: GroupSlot, edit: &Edit<'a>, event_us: i64, now_us: i64) -> Applied<'a> {
    if let Some(deleted_at_us) = slot.deleted_at_us.filter(|d| event_us < *d) {
        return refuse(slot, Refusal::GroupDeleted { deleted_at_us });
    }
    let GroupSlot {
        group,
        deleted_at_us,
    } = slot;
    let restore = |group| GroupSlot {
        group,
        deleted_at_us,
    };
    let (group, created) = match (*edit, group) {
        (Edit::Delete, None) | (Edit::Property { .. } | Edit::Patch { .. }, None) => {
            return refuse(restore(None), Refusal::GroupMissing);
        }
        (Edit::Create { .. }, Some(g)) => return refuse(restore(Some(g)), Refusal::GroupExists),
        (Edit::Delete, Some(g)) => return delete(g, deleted_at_us, event_us),
        (Edit::Property { property, op }, Some(g)) => {
            if matches!(op, PropOp::Unset) && !g.properties.contains_key(property) {
                let missing = Refusal::PropertyMissing(property.to_owned());
                return refuse(restore(Some(g)), missing);
            }
            (g, false)
        }
        (Edit::Patch { set, unset }, Some(g)) => {
            if let Some(p) = unset.iter().find(|p| set.contains_key(*p)) {
                return refuse(restore(Some(g)), Refusal::SetAndUnset(p.clone()));
            }
            (g, false)
        }
        (Edit::Identify { .. }, Some(g)) => (g, false),
        (Edit::Identify { .. } | Edit::Create { .. }, None) => (
            GroupState {
                properties: Map::new(),
                meta: merge::PropMetaMap::new(),
                created_at_us: event_us,
                updated_at_us: now_us,
            },
            true,
        ),
    };
    let mut run = Run {
        group,
        changes: Vec::new(),
        dirty: created,
        visible: false,
        t: event_us,
    };
    match *edit {
        Edit::Identify {
            set_once,
            set,
            unset,
        } => {
            run.set_all(OpKind::SetOnce, set_once);
            run.set_all(OpKind::Set, set);
            run.unset_all(unset);
            if event_us < run.group.created_at_us {
                run.group.created_at_us = event_us;
                run.dirty = true;
            }
        }
        Edit::Create { properties } => run.set_all(OpKind::Set, properties),
        Edit::Property { property, op } => run.op(Cow::Borrowed(property), op.kind(), op.value()),
        Edit::Patch { set, unset } => {
            run.set_all(OpKind::Set, set);
            run.unset_all(unset);
        }
        Edit::Delete => unreachable!("a deletion returned above"),
    }
    if run.visible && !created {
        run.group.updated_at_us = now_us;
    }
    Applied {
        slot: GroupSlot {
            group: Some(run.group),
            deleted_at_us,
        },
        outcome: if created {
            Outcome::Created
        } else {
            Outcome::Updated
        },
        changes: run.changes,
        dirty: run.dirty || run.visible,
    }
}

fn refuse<'a>(slot: GroupSlot, why: Refusal) -> Applied<'a> {
    Applied {
        slot,
        outcome: Outcome::Refused(why),
        changes: Vec::new(),
        dirty: false,
    }
}

fn delete<'a>(g: GroupState, tombstone: Option<i64>, event_us: i64) -> Applied<'a> {
    let changes = g
        .properties
        .into_iter()
        .map(|(property, previous)| PropertyChange {
            property: Cow::Owned(property),
            op: OpKind::Unset,
            value: None,
            previous: Some(previous),
            event_us,
            effect: Effect::Unset,
        })
        .collect();
    Applied {
        slot: GroupSlot {
            group: None,
            deleted_at_us: Some(tombstone.map_or(event_us, |d| d.max(event_us))),
        },
        outcome: Outcome::Deleted,
        changes,
        dirty: true,
    }
}

/// The operations of one edit on one group.
struct Run<'a> {
    group: GroupState,
    changes: Vec<PropertyChange<'a>>,
    dirty: bool,
    visible: bool,
    t: i64,
}

impl<'a> Run<'a> {
    fn set_all(&mut self, kind: OpKind, props: &'a Map<String, Value>) {
        for (k, v) in props {
            self.op(Cow::Borrowed(k), kind, Some(v));
        }
    }

    fn unset_all(&mut self, names: &'a [String]) {
        for k in names {
            self.op(Cow::Borrowed(k), OpKind::Unset, None);
        }
    }

    fn op(&mut self, property: Cow<'a, str>, kind: OpKind, value: Option<&'a Value>) {
        let g = &mut self.group;
        let decision = merge::decide(
            &mut g.properties,
            &mut g.meta,
            &property,
            kind,
            value,
            self.t,
        );
        let (previous, effect) = match decision {
            Decision::Lost => (None, Effect::Outdated),
            Decision::Won { before } => {
                self.dirty = true;
                let effect = match (&before, g.properties.get(property.as_ref())) {
                    (None, Some(_)) => Effect::Created,
                    (Some(b), Some(a)) if b != a => Effect::Set,
                    (Some(_), None) => Effect::Unset,
                    _ => Effect::Unchanged,
                };
                (before, effect)
            }
        };
        self.visible |= effect.is_visible();
        self.changes.push(PropertyChange {
            property,
            op: kind,
            value: value.filter(|_| kind != OpKind::Unset),
            previous,
            event_us: self.t,
            effect,
        });
    }
}

impl<'a> Applied<'a> {
    /// Why nothing changed, when the edit was refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match &self.outcome {
            Outcome::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// Whether anything a reader sees changed: the group appeared or went, or a value changed.
    pub fn is_visible(&self) -> bool {
        matches!(self.outcome, Outcome::Created | Outcome::Deleted)
            || self.changes.iter().any(|c| c.effect.is_visible())
    }

    /// The activity entries the edit writes, in order: one per visible property change (a create
    /// logs `create_group` for each property it brought), one `delete_group` for a deletion.
    pub fn activity(&self) -> Vec<ActivityRecord<'_>> {
        if self.outcome == Outcome::Deleted {
            return vec![ActivityRecord {
                activity: Activity::DeleteGroup,
                action: Action::Deleted,
                property: "",
                before: None,
                after: None,
            }];
        }
        let created = self.outcome == Outcome::Created;
        self.changes
            .iter()
            .filter(|c| c.effect.is_visible())
            .map(|c| {
                let (activity, action) = match (created, &c.previous, c.value) {
                    (true, None, _) => (Activity::CreateGroup, Action::Created),
                    (false, None, _) => (Activity::CreateProperty, Action::Created),
                    (_, Some(_), Some(_)) => (Activity::UpdateProperty, Action::Changed),
                    (_, Some(_), None) => (Activity::UpdateProperty, Action::Deleted),
                };
                ActivityRecord {
                    activity,
                    action,
                    property: &c.property,
                    before: c.previous.as_ref(),
                    after: c.value,
                }
            })
            .collect()
    }

    /// How the type's property counts move: net per name and per value, zeros left out.
    pub fn count_changes(&self) -> Vec<CountChange<'_>> {
        fn bump<'s>(out: &mut Vec<CountChange<'s>>, p: &'s str, v: Option<&'s Value>, by: i64) {
            match out.iter_mut().find(|c| c.property == p && c.value == v) {
                Some(c) => c.by += by,
                None => out.push(CountChange {
                    property: p,
                    value: v,
                    by,
                }),
            }
        }
        let mut out = Vec::new();
        for c in &self.changes {
            let p = c.property.as_ref();
            match c.effect {
                Effect::Created => {
                    bump(&mut out, p, None, 1);
                    bump(&mut out, p, c.value, 1);
                }
                Effect::Set => {
                    bump(&mut out, p, c.previous.as_ref(), -1);
                    bump(&mut out, p, c.value, 1);
                }
                Effect::Unset => {
                    bump(&mut out, p, c.previous.as_ref(), -1);
                    bump(&mut out, p, None, -1);
                }
                Effect::Unchanged | Effect::Outdated => {}
            }
        }
        out.retain(|c| c.by != 0);
        out
    }

    /// Each property whose value differs after the edit, with its values before and after (a
    /// property changed and changed back is left out), in the order the edit first touched them.
    pub fn diff(&self) -> Vec<PropertyDiff<'_>> {
        let mut out: Vec<PropertyDiff<'_>> = Vec::new();
        for c in self.changes.iter().filter(|c| c.effect.is_visible()) {
            match out.iter_mut().find(|d| d.property == c.property.as_ref()) {
                Some(d) => d.new = c.value,
                None => out.push(PropertyDiff {
                    property: &c.property,
                    old: c.previous.as_ref(),
                    new: c.value,
                }),
            }
        }
        out.retain(|d| d.old != d.new);
        out
    }
}
