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

/// A version to insert, from one operation of an applied edit.
pub(crate) struct VersionRow {
    pub(crate) property: String,
    pub(crate) op: VersionOp,
    /// JSON text of the value (`None` for an unset).
    pub(crate) value: Option<String>,
    pub(crate) event_us: i64,
}

/// The versions an applied edit records: every operation that changed the value, and every late
/// set or unset (a version in its event-time place though the current value stays). A write of
/// the value already there, an unset of an absent property and a losing set_once are none; a
/// deletion removes history rather than adding to it.
pub(crate) fn versions_of(applied: &groupd_core::groups::Applied<'_>) -> Vec<VersionRow> {
    use groupd_core::{groups::Effect, merge::OpKind};
    if applied.outcome == groupd_core::groups::Outcome::Deleted {
        return Vec::new();
    }
    applied
        .changes
        .iter()
        .filter(|c| match c.effect {
            Effect::Created | Effect::Set | Effect::Unset => true,
            Effect::Outdated => c.op != OpKind::SetOnce,
            Effect::Unchanged => false,
        })
        .map(|c| VersionRow {
            property: c.property.to_string(),
            op: if c.op == OpKind::Unset {
                VersionOp::Unset
            } else {
                VersionOp::Set
            },
            value: c.value.map(Value::to_string),
            event_us: c.event_us,
        })
        .collect()
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
    let mut changes = Map::new();
    for d in applied.diff() {
        changes.insert(
            d.property.to_owned(),
            Value::Array(vec![
                d.old.cloned().unwrap_or(Value::Null),
                d.new.cloned().unwrap_or(Value::Null),
            ]),
        );
    }
    if kind == ChangeKind::Updated && changes.is_empty() {
        return None;
    }
    Some(PendingChange {
        kind,
        index,
        group_type: None,
        key: Some(key.to_owned()),
        changes: format!("{STORED_PAIRS}{}", Value::Object(changes)),
        event_us,
        source: source.to_stored(),
    })
}

/// Marks a stream entry's `changes` stored as `{property: [old, new]}`: the API's
/// `{"old": …, "new": …}` wrapper was 19 of the ~35 bytes a created property took.
const STORED_PAIRS: char = '~';

/// A stream entry's `changes` as the API shows them (`{property: {old, new}}`), from either
/// stored form: pairs ([`STORED_PAIRS`]) or the API's objects (entries written before pairs).
pub(crate) fn changes_from_stored(text: &str) -> Map<String, Value> {
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

/// Rebuilds the properties at an as-of time from versions read newest first per property
/// (`(property, op, value)` rows in `property, event_time DESC, …` order): each property's first
/// row decides it; an unset leaves it absent.
pub(crate) fn properties_from_versions(
    rows: impl IntoIterator<Item = (String, VersionOp, Option<String>)>,
) -> Map<String, Value> {
    let mut out = Map::new();
    let mut last: Option<String> = None;
    for (property, op, value) in rows {
        if last.as_deref() == Some(property.as_str()) {
            continue;
        }
        if op == VersionOp::Set
            && let Some(v) = value.and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            out.insert(property.clone(), v);
        }
        last = Some(property);
    }
    out
}

/// Fills in `previous_value` of versions read oldest first per property (event time, then
/// recorded time): each one's predecessor's value.
pub(crate) fn with_previous(mut versions: Vec<PropertyVersion>) -> Vec<PropertyVersion> {
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
pub(crate) fn history_page(
    mut v: Vec<PropertyVersion>,
    offset: u64,
    limit: u64,
) -> Vec<PropertyVersion> {
    v.reverse();
    v.into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{STORED_PAIRS, changes_from_stored};

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
    }
}
