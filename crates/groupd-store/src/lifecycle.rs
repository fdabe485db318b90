//! Records of the group lifecycle (lifecycle.md): several properties changed at once, deletions,
//! property versions (history and as-of reads) and the change stream.
use groupd_core::{GroupKey, GroupTypeIndex, ProjectId};
use serde_json::{Map, Value};

use crate::{ChangeSource, GroupRef};

/// A `PATCH` of one group: all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPatch {
    /// The group.
    pub group: GroupRef,
    /// Properties to set.
    pub set: Map<String, Value>,
    /// Properties to remove; each must be held by the group (`PropertyMissing` otherwise).
    pub unset: Vec<String>,
}

/// Groups of one type to delete, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDeletion {
    /// The project.
    pub project: ProjectId,
    /// The type.
    pub index: GroupTypeIndex,
    /// The keys (duplicates are deleted once).
    pub keys: Vec<GroupKey>,
}

/// What a deletion did: the keys deleted and those that named no group, in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletionOutcome {
    /// Deleted.
    pub deleted: Vec<String>,
    /// No such group.
    pub not_found: Vec<String>,
}

/// What a property version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionOp {
    /// The property took a value.
    Set,
    /// The property was removed.
    Unset,
}

impl VersionOp {
    /// `set` or `unset`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Set => "set",
            Self::Unset => "unset",
        }
    }

    /// The stored code (0 set, 1 unset).
    pub fn code(self) -> i16 {
        match self {
            Self::Set => 0,
            Self::Unset => 1,
        }
    }

    /// From the stored code.
    pub fn from_code(c: i64) -> Self {
        if c == 1 { Self::Unset } else { Self::Set }
    }
}

/// One version of one property.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyVersion {
    /// The property.
    pub property: String,
    /// Set or unset.
    pub op: VersionOp,
    /// The value set (`None` for an unset).
    pub value: Option<Value>,
    /// The property's value just before this version in event-time order (`None`: none).
    pub previous_value: Option<Value>,
    /// Event time, µs.
    pub event_time: i64,
    /// When groupd stored it, µs.
    pub recorded_at: i64,
    /// Where it came from.
    pub source: ChangeSource,
}

/// Which versions `property_history` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryQuery {
    /// The group.
    pub group: GroupRef,
    /// Only this property.
    pub property: Option<String>,
    /// Versions to skip (newest first).
    pub offset: u64,
    /// Versions to return.
    pub limit: u64,
}

/// The kind of a change-stream entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A group appeared.
    Created,
    /// A group's current properties changed.
    Updated,
    /// A group was deleted.
    Deleted,
    /// A whole group type was deleted.
    TypeDeleted,
}

impl ChangeKind {
    /// `created`, `updated`, `deleted`, `type_deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::TypeDeleted => "type_deleted",
        }
    }

    /// From [`Self::as_str`].
    pub fn parse(s: &str) -> Self {
        match s {
            "created" => Self::Created,
            "deleted" => Self::Deleted,
            "type_deleted" => Self::TypeDeleted,
            _ => Self::Updated,
        }
    }
}

/// One entry of the change stream.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupChange {
    /// Its place in the project's sequence (from 1, no gaps).
    pub seq: i64,
    /// What happened.
    pub kind: ChangeKind,
    /// The group's type index.
    pub index: GroupTypeIndex,
    /// The type's name (when known).
    pub group_type: Option<String>,
    /// The group's key (`None` for a type deletion).
    pub key: Option<String>,
    /// `{property: {"old": …, "new": …}}`.
    pub changes: Map<String, Value>,
    /// The edit's event time, µs.
    pub event_time: i64,
    /// When it was committed, µs.
    pub recorded_at: i64,
    /// Where it came from.
    pub source: ChangeSource,
}

/// Which changes a page reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangesQuery {
    /// The project.
    pub project: ProjectId,
    /// Changes with a seq above this.
    pub since: i64,
    /// Only this type's.
    pub index: Option<GroupTypeIndex>,
    /// At most this many.
    pub limit: u64,
}

/// One page of the change stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangePage {
    /// The changes, by seq.
    pub results: Vec<GroupChange>,
    /// Where the next page starts (the last seq read, or the head when the page is not full).
    pub next_since: i64,
    /// The project's latest seq when the page was read.
    pub head: i64,
    /// The oldest seq still kept (`head + 1` when none is).
    pub oldest: i64,
}

// ------------------------------------------------------------------------------------------------
// What both backends write from one applied edit

// Versions are stored one row per edit (issue 13): the edit's event time, recorded time and
// source once, and its operations as one JSON array, `[[property, value, code(, before)], …]`
// in edit order, or, when every operation is a `create_group` set of its own property, as the
// object `{property: value, …}` (a new group's whole first edit, the common row). One row per
// property with the edit's source on each was ~107 bytes a property and a write each; the
// activity log is read from the same rows (its entries are the operations with an activity).

/// An operation's code in a stored edit: what it did and which activity entry shows it.
mod op_code {
    /// A set shown as `create_group` (the edit created the group).
    pub(super) const CREATE_GROUP: i64 = 0;
    /// A set shown as `create_property`.
    pub(super) const CREATE_PROPERTY: i64 = 1;
    /// A set shown as `update_property`, with the value it replaced.
    pub(super) const UPDATE_PROPERTY: i64 = 2;
    /// A set that changed no current value (late): history only.
    pub(super) const LATE_SET: i64 = 3;
    /// An unset shown as `update_property` (deleted), with the value it removed.
    pub(super) const UNSET: i64 = 4;
    /// An unset that changed no current value (late): history only.
    pub(super) const LATE_UNSET: i64 = 5;
}

/// One edit's versions as stored, read back by the backends.
#[derive(Debug, Clone)]
pub(crate) struct StoredEdit {
    /// The row's id (ascending in write order).
    pub(crate) id: i64,
    pub(crate) event_time: i64,
    pub(crate) recorded_at: i64,
    /// [`ChangeSource::to_stored`].
    pub(crate) source: String,
    /// The operations ([`edit_ops`]).
    pub(crate) ops: String,
}

impl StoredEdit {
    /// A version row written before versions were one row per edit (`op` 0 set, 1 unset; its
    /// activity entry, if any, is in `group_activity`).
    pub(crate) fn legacy(
        id: i64,
        property: String,
        op: i64,
        value: Option<String>,
        event_time: i64,
        recorded_at: i64,
        source: String,
    ) -> Self {
        let value = value
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or(Value::Null);
        let code = if VersionOp::from_code(op) == VersionOp::Unset {
            op_code::LATE_UNSET
        } else {
            op_code::LATE_SET
        };
        Self {
            id,
            event_time,
            recorded_at,
            source,
            ops: serde_json::json!([[property, value, code]]).to_string(),
        }
    }
}

/// One operation of a stored edit.
struct StoredOp {
    property: String,
    code: i64,
    value: Value,
    before: Value,
}

impl StoredOp {
    fn is_unset(&self) -> bool {
        matches!(self.code, op_code::UNSET | op_code::LATE_UNSET)
    }
}

/// The operations of a stored edit, in edit order (an unreadable one reads as none).
fn ops_of(text: &str) -> Vec<StoredOp> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .map(|(property, value)| StoredOp {
                property,
                code: op_code::CREATE_GROUP,
                value,
                before: Value::Null,
            })
            .collect(),
        Ok(Value::Array(a)) => a
            .into_iter()
            .filter_map(|op| {
                let Value::Array(mut f) = op else { return None };
                f.resize(4, Value::Null);
                let before = f.pop()?;
                let code = f.pop()?.as_i64()?;
                let value = f.pop()?;
                let Value::String(property) = f.pop()? else {
                    return None;
                };
                Some(StoredOp {
                    property,
                    code,
                    value,
                    before,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The stored operations of an applied edit (`None`: it records no version): every operation
/// that changed the value, and every late set or unset (a version in its event-time place though
/// the current value stays). A write of the value already there, an unset of an absent property
/// and a losing set_once are none; a deletion removes history rather than adding to it.
pub(crate) fn edit_ops(applied: &groupd_core::groups::Applied<'_>) -> Option<String> {
    use groupd_core::{
        groups::{Effect, Outcome},
        merge::OpKind,
    };
    if applied.outcome == Outcome::Deleted {
        return None;
    }
    let created = applied.outcome == Outcome::Created;
    let mut ops = Vec::new();
    for c in &applied.changes {
        let unset = c.op == OpKind::Unset;
        // The entry `Applied::activity` shows a visible change as.
        let code = match (c.effect, created, &c.previous, unset) {
            (Effect::Unchanged, ..) => continue,
            (Effect::Outdated, ..) if c.op == OpKind::SetOnce => continue,
            (Effect::Outdated, .., true) => op_code::LATE_UNSET,
            (Effect::Outdated, ..) => op_code::LATE_SET,
            (_, _, Some(_), true) => op_code::UNSET,
            (_, _, Some(_), false) => op_code::UPDATE_PROPERTY,
            (_, true, None, _) => op_code::CREATE_GROUP,
            (_, false, None, _) => op_code::CREATE_PROPERTY,
        };
        ops.push((c.property.as_ref(), c.value, code, c.previous.as_ref()));
    }
    if ops.is_empty() {
        return None;
    }
    if stored_as_object(applied) {
        let m: Map<String, Value> = ops
            .iter()
            .map(|(p, v, ..)| ((*p).to_owned(), v.cloned().unwrap_or(Value::Null)))
            .collect();
        return Some(Value::Object(m).to_string());
    }
    let a: Vec<Value> = ops
        .into_iter()
        .map(|(p, v, code, before)| {
            let mut f = vec![
                Value::String(p.to_owned()),
                v.cloned().unwrap_or(Value::Null),
                Value::from(code),
            ];
            if matches!(code, op_code::UPDATE_PROPERTY | op_code::UNSET) {
                f.push(before.cloned().unwrap_or(Value::Null));
            }
            Value::Array(f)
        })
        .collect();
    Some(Value::Array(a).to_string())
}

/// Whether [`edit_ops`] stores `applied` as the object `{property: value}`: a creation whose
/// every operation set a property of its own (then the object is also its change-stream diff).
fn stored_as_object(applied: &groupd_core::groups::Applied<'_>) -> bool {
    use groupd_core::groups::{Effect, Outcome};
    let mut seen = std::collections::HashSet::new();
    applied.outcome == Outcome::Created
        && !applied.changes.is_empty()
        && applied
            .changes
            .iter()
            .all(|c| c.effect == Effect::Created && seen.insert(c.property.as_ref()))
}

/// A group's property history from its stored edits (any order): oldest first by event time,
/// then recorded time, then write order, each version with its predecessor's value; then the
/// page, newest first. `property` keeps only its versions.
pub(crate) fn history_of(
    mut edits: Vec<StoredEdit>,
    property: Option<&str>,
    offset: u64,
    limit: u64,
) -> Vec<PropertyVersion> {
    edits.sort_by_key(|e| (e.event_time, e.recorded_at, e.id));
    let mut versions = Vec::new();
    for e in edits {
        let source = ChangeSource::from_stored(&e.source);
        for op in ops_of(&e.ops) {
            if property.is_some_and(|p| p != op.property) {
                continue;
            }
            let unset = op.is_unset();
            versions.push(PropertyVersion {
                property: op.property,
                op: if unset {
                    VersionOp::Unset
                } else {
                    VersionOp::Set
                },
                value: (!unset).then_some(op.value),
                previous_value: None,
                event_time: e.event_time,
                recorded_at: e.recorded_at,
                source: source.clone(),
            });
        }
    }
    history_page(with_previous(versions), offset, limit)
}

/// A group's properties as of event time `at`, from its stored edits (any order): each
/// property's latest version with `event_time ≤ at` (a later operation of one edit beats an
/// earlier one), an unset leaving it absent; in property-name order.
pub(crate) fn properties_as_of(mut edits: Vec<StoredEdit>, at: i64) -> Map<String, Value> {
    edits.retain(|e| e.event_time <= at);
    edits.sort_by_key(|e| std::cmp::Reverse((e.event_time, e.recorded_at, e.id)));
    let mut decided: std::collections::BTreeMap<String, Option<Value>> = Default::default();
    for e in edits {
        for op in ops_of(&e.ops).into_iter().rev() {
            let unset = op.is_unset();
            decided
                .entry(op.property)
                .or_insert_with(|| (!unset).then_some(op.value));
        }
    }
    decided
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

/// The activity entries of a group's stored edits (any order), oldest first, as columns:
/// one per operation that has an activity. An entry's id is made of its edit's recorded time
/// (ms, as a UUIDv7's), row id and place in the edit: stable, so reads agree and a deletion
/// keeps it when it copies the entries to `group_activity`.
pub(crate) fn activity_of(mut edits: Vec<StoredEdit>) -> Vec<crate::common::ActivityColumns> {
    use groupd_core::groups::{Action, Activity};
    let code = |a: &Activity| Activity::ALL.iter().position(|x| x == a).unwrap_or(0);
    let action = |a: &Action| Action::ALL.iter().position(|x| x == a).unwrap_or(0);
    edits.sort_by_key(|e| e.id);
    let mut out = Vec::new();
    for e in edits {
        let actor = match ChangeSource::from_stored(&e.source) {
            ChangeSource::Api { key_label } => key_label,
            _ => None,
        };
        for (n, op) in ops_of(&e.ops).into_iter().enumerate() {
            let (activity, act) = match op.code {
                op_code::CREATE_GROUP => (Activity::CreateGroup, Action::Created),
                op_code::CREATE_PROPERTY => (Activity::CreateProperty, Action::Created),
                op_code::UPDATE_PROPERTY => (Activity::UpdateProperty, Action::Changed),
                op_code::UNSET => (Activity::UpdateProperty, Action::Deleted),
                _ => continue,
            };
            let ms = u64::try_from(e.recorded_at / 1000).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
            let lo = 0x8000_0000_0000_0000
                | ((e.id as u64 & 0x3F_FFFF_FFFF_FFFF) << 8)
                | (n as u64 & 0xFF);
            let id = uuid::Uuid::from_u64_pair((ms << 16) | 0x7000, lo);
            out.push(crate::common::ActivityColumns {
                id: id.to_string(),
                actor: actor.clone(),
                activity: code(&activity),
                action: action(&act),
                before: if op.code == op_code::UNSET || op.code == op_code::UPDATE_PROPERTY {
                    op.before
                } else {
                    Value::Null
                },
                after: if op.code == op_code::UNSET {
                    Value::Null
                } else {
                    op.value
                },
                property: op.property,
                created_at: e.recorded_at,
            });
        }
    }
    out
}

/// One page of a group's activity, newest first, and the number of entries: those of its
/// stored edits ([`activity_of`]) and those of `group_activity` (`(row id, entry)`: deletions,
/// the entries of deleted groups, and entries written before edits were stored as one row),
/// by time, then write order.
pub(crate) fn activity_page(
    edits: Vec<StoredEdit>,
    rows: Vec<(i64, crate::ActivityEntry)>,
    group_id: i64,
    offset: u64,
    limit: u64,
) -> (Vec<crate::ActivityEntry>, u64) {
    // (time, table first at a tie, place) descending.
    let mut all: Vec<((i64, u8, i64), crate::ActivityEntry)> = rows
        .into_iter()
        .map(|(id, e)| ((e.created_at, 1, id), e))
        .collect();
    for (n, c) in activity_of(edits).into_iter().enumerate() {
        all.push(((c.created_at, 0, n as i64), c.entry(group_id)));
    }
    all.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
    let total = all.len() as u64;
    let page = all
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(_, e)| e)
        .collect();
    (page, total)
}

/// A change-stream entry waiting for its seq (assigned as the transaction's last step).
#[derive(Debug, Clone)]
pub(crate) struct PendingChange {
    pub(crate) kind: ChangeKind,
    pub(crate) index: GroupTypeIndex,
    pub(crate) group_type: Option<String>,
    pub(crate) key: Option<String>,
    /// `{property: [old, new]}` as stored (read back by [`changes_from_stored`]).
    pub(crate) changes: String,
    pub(crate) event_us: i64,
    /// The source as stored ([`ChangeSource::to_stored`]).
    pub(crate) source: String,
}

/// The stream entry of an applied edit: `None` when no current value changed (a late or equal
/// write, a refusal).
pub(crate) fn change_of(
    applied: &groupd_core::groups::Applied<'_>,
    group_id: i64,
    index: GroupTypeIndex,
    key: &str,
    event_us: i64,
    source: &ChangeSource,
) -> Option<PendingChange> {
    use groupd_core::groups::Outcome;
    let kind = match applied.outcome {
        Outcome::Created => ChangeKind::Created,
        Outcome::Deleted => ChangeKind::Deleted,
        Outcome::Updated => ChangeKind::Updated,
        Outcome::Refused(_) => return None,
    };
    let diff = applied.diff();
    let value = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
    let is_null = |v: Option<&Value>| v.is_none_or(Value::is_null);
    // A creation's old values are all null, and a deletion's new ones: only the other side is
    // kept then.
    let marker = match kind {
        ChangeKind::Created if diff.iter().all(|d| is_null(d.old)) => STORED_NEW,
        ChangeKind::Deleted if diff.iter().all(|d| is_null(d.new)) => STORED_OLD,
        _ => STORED_PAIRS,
    };
    let changes: Map<String, Value> = diff
        .iter()
        .map(|d| {
            let v = match marker {
                STORED_NEW => value(d.new),
                STORED_OLD => value(d.old),
                _ => Value::Array(vec![value(d.old), value(d.new)]),
            };
            (d.property.to_owned(), v)
        })
        .collect();
    if kind == ChangeKind::Updated && changes.is_empty() {
        return None;
    }
    // A creation stored as one object: the entry names that version instead of repeating it.
    let changes = if marker == STORED_NEW && stored_as_object(applied) {
        format!("{STORED_VERSION}{group_id}")
    } else {
        format!("{marker}{}", Value::Object(changes))
    };
    Some(PendingChange {
        kind,
        index,
        group_type: None,
        key: Some(key.to_owned()),
        changes,
        event_us,
        source: source.to_stored(),
    })
}

/// Marks a stream entry's `changes` stored as `{property: [old, new]}`: the API's
/// `{"old": …, "new": …}` wrapper was 19 of the ~35 bytes a created property took.
const STORED_PAIRS: char = '~';
/// Marks `changes` stored as `{property: new}`, every old value null (a creation).
const STORED_NEW: char = '+';
/// Marks `changes` stored as `{property: old}`, every new value null (a deletion).
const STORED_OLD: char = '-';

/// Marks `changes` stored as `=<group id>`: the creation's diff is the group's version stored as
/// one object ([`stored_as_object`]) with the entry's event and recorded times. A new group's
/// properties were stored three times (row, version, stream entry): ~350 bytes a group. A
/// deletion keeps that version (its group id negated, out of every group read) until the entry
/// expires.
const STORED_VERSION: char = '=';

/// The group id of a stream entry's `changes` that name a version ([`STORED_VERSION`]), for the
/// reader to fetch the version's operations and pass them to [`changes_from_stored`].
pub(crate) fn version_ref(text: &str) -> Option<i64> {
    text.strip_prefix(STORED_VERSION)?.parse().ok()
}

/// The diff of a creation stored as one version: `ops` in object form, old values null.
pub(crate) fn changes_of_version(ops: &str) -> Map<String, Value> {
    changes_from_stored(&format!("{STORED_NEW}{ops}"))
}

/// A stream entry's `changes` as the API shows them (`{property: {old, new}}`), from any stored
/// form but a version reference ([`version_ref`]): one side ([`STORED_NEW`], [`STORED_OLD`]),
/// pairs ([`STORED_PAIRS`]) or the API's objects (entries written before pairs).
pub(crate) fn changes_from_stored(text: &str) -> Map<String, Value> {
    for (marker, new_side) in [(STORED_NEW, true), (STORED_OLD, false)] {
        if let Some(side) = text.strip_prefix(marker) {
            let side: Map<String, Value> = serde_json::from_str(side).unwrap_or_default();
            return side
                .into_iter()
                .map(|(k, v)| {
                    let change = if new_side {
                        serde_json::json!({"old": null, "new": v})
                    } else {
                        serde_json::json!({"old": v, "new": null})
                    };
                    (k, change)
                })
                .collect();
        }
    }
    let Some(pairs) = text.strip_prefix(STORED_PAIRS) else {
        return serde_json::from_str(text).unwrap_or_default();
    };
    let pairs: Map<String, Value> = serde_json::from_str(pairs).unwrap_or_default();
    pairs
        .into_iter()
        .map(|(k, v)| {
            let (old, new) = match v {
                Value::Array(mut a) if a.len() == 2 => {
                    let new = a.pop().unwrap_or(Value::Null);
                    (a.pop().unwrap_or(Value::Null), new)
                }
                _ => (Value::Null, Value::Null),
            };
            (k, serde_json::json!({"old": old, "new": new}))
        })
        .collect()
}

/// The stream entry of a type deletion.
pub(crate) fn type_deleted(index: GroupTypeIndex, name: String, at_us: i64) -> PendingChange {
    PendingChange {
        kind: ChangeKind::TypeDeleted,
        index,
        group_type: Some(name),
        key: None,
        changes: "{}".to_owned(),
        event_us: at_us,
        source: ChangeSource::Api { key_label: None }.to_stored(),
    }
}

/// Fills in `previous_value` of versions read oldest first per property (event time, then
/// recorded time): each one's predecessor's value.
fn with_previous(mut versions: Vec<PropertyVersion>) -> Vec<PropertyVersion> {
    let mut prev: std::collections::HashMap<String, Option<Value>> = Default::default();
    for v in &mut versions {
        v.previous_value = prev.get(&v.property).cloned().flatten();
        prev.insert(v.property.clone(), v.value.clone());
    }
    versions
}

/// The page's cursor: after the last change read, or at the head when the page is not full (a
/// type filter may have skipped the rest).
pub(crate) fn finish_page(
    results: Vec<GroupChange>,
    q: &ChangesQuery,
    head: i64,
    oldest: Option<i64>,
) -> ChangePage {
    let full = results.len() as u64 >= q.limit;
    let next_since = match results.last() {
        Some(last) if full => last.seq,
        _ => head.max(q.since),
    };
    ChangePage {
        results,
        next_since,
        head,
        oldest: oldest.unwrap_or(head + 1),
    }
}

/// Newest first, one page.
fn history_page(mut v: Vec<PropertyVersion>, offset: u64, limit: u64) -> Vec<PropertyVersion> {
    v.reverse();
    v.into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use groupd_core::groups::{Edit, GroupSlot, apply};
    use serde_json::json;

    use super::{StoredEdit, activity_of, edit_ops, history_of, properties_as_of};

    fn identify<'a>(
        set: &'a serde_json::Map<String, serde_json::Value>,
        unset: &'a [String],
    ) -> Edit<'a> {
        Edit::Identify {
            set_once: Box::leak(Box::default()),
            set,
            unset,
        }
    }

    /// A new group's edit is stored as its properties object; a later one as operations with
    /// codes and the values they replaced; history, as-of reads and activity read both back.
    #[test]
    fn one_row_per_edit_reads_back_as_versions_and_activity() {
        let first = json!({"plan": "free", "seats": 3});
        let first = first.as_object().unwrap();
        let a = apply(GroupSlot::default(), &identify(first, &[]), 10, 100);
        let ops1 = edit_ops(&a).unwrap();
        assert_eq!(ops1, r#"{"plan":"free","seats":3}"#);
        let second = json!({"plan": "pro"});
        let second = second.as_object().unwrap();
        let unset = ["seats".to_owned()];
        let b = apply(a.slot.clone(), &identify(second, &unset), 20, 200);
        let ops2 = edit_ops(&b).unwrap();
        assert_eq!(ops2, r#"[["plan","pro",2,"free"],["seats",null,4,3]]"#);
        // A late set: a version, no activity.
        let late = json!({"plan": "old"});
        let late = late.as_object().unwrap();
        let c = apply(b.slot.clone(), &identify(late, &[]), 15, 300);
        let ops3 = edit_ops(&c).unwrap();
        assert_eq!(ops3, r#"[["plan","old",3]]"#);
        // The same value again: nothing.
        assert_eq!(
            edit_ops(&apply(c.slot.clone(), &identify(second, &[]), 30, 400)),
            None
        );

        let edit = |id, t, r, ops: &str| StoredEdit {
            id,
            event_time: t,
            recorded_at: r,
            source: "a:crm".into(),
            ops: ops.into(),
        };
        let edits = vec![
            edit(3, 15, 300, &ops3),
            edit(1, 10, 100, &ops1),
            edit(2, 20, 200, &ops2),
            StoredEdit::legacy(9, "x".into(), 0, Some("1".into()), 5, 50, "i".into()),
        ];
        let at = |t| serde_json::Value::Object(properties_as_of(edits.clone(), t));
        assert_eq!(at(12), json!({"plan": "free", "seats": 3, "x": 1}));
        assert_eq!(at(16), json!({"plan": "old", "seats": 3, "x": 1}));
        assert_eq!(at(25), json!({"plan": "pro", "x": 1}));
        let h = history_of(edits.clone(), Some("plan"), 0, 10);
        let h: Vec<_> = h
            .iter()
            .map(|v| (v.event_time, v.value.clone(), v.previous_value.clone()))
            .collect();
        assert_eq!(
            h,
            [
                (20, Some(json!("pro")), Some(json!("old"))),
                (15, Some(json!("old")), Some(json!("free"))),
                (10, Some(json!("free")), None),
            ]
        );
        let log: Vec<_> = activity_of(edits)
            .into_iter()
            .map(|e| (e.activity, e.action, e.property, e.before, e.after, e.actor))
            .collect();
        let crm = Some("crm".to_owned());
        assert_eq!(
            log,
            [
                (0, 0, "plan".into(), json!(null), json!("free"), crm.clone()),
                (0, 0, "seats".into(), json!(null), json!(3), crm.clone()),
                (
                    2,
                    1,
                    "plan".into(),
                    json!("free"),
                    json!("pro"),
                    crm.clone()
                ),
                (2, 2, "seats".into(), json!(3), json!(null), crm),
            ]
        );
    }

    use super::{STORED_NEW, STORED_OLD, STORED_PAIRS, changes_from_stored};

    #[test]
    fn stored_changes_read_as_the_api_shows_them_in_both_forms() {
        let api = json!({"plan": {"old": "pro", "new": {"b": 1, "a": [null]}},
                         "seats": {"old": null, "new": 3}, "gone": {"old": 1, "new": null}});
        let pairs = format!(
            "{STORED_PAIRS}{}",
            json!({"plan": ["pro", {"b": 1, "a": [null]}], "seats": [null, 3], "gone": [1, null]})
        );
        let read = serde_json::Value::Object(changes_from_stored(&pairs));
        assert_eq!(read, api);
        let keys: Vec<_> = read.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["plan", "seats", "gone"], "property order kept");
        // Entries stored before the pairs form.
        assert_eq!(
            serde_json::Value::Object(changes_from_stored(&api.to_string())),
            api
        );
        assert!(changes_from_stored("{}").is_empty());
        let created = format!("{STORED_NEW}{}", json!({"b": 1, "a": [null]}));
        assert_eq!(
            serde_json::Value::Object(changes_from_stored(&created)).to_string(),
            r#"{"b":{"old":null,"new":1},"a":{"old":null,"new":[null]}}"#
        );
        let deleted = format!("{STORED_OLD}{}", json!({"plan": "pro"}));
        assert_eq!(
            serde_json::Value::Object(changes_from_stored(&deleted)),
            json!({"plan": {"old": "pro", "new": null}})
        );
    }
}
