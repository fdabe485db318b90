//! What both backends share beyond the model: the codecs and checks that must come out the same.
use groupd_core::{
    GroupTypeIndex,
    groups::{Assignment, TypeAssigner},
};

use crate::{GroupType, StoreError, StoreResult, error};

/// `v` as JSON text (what both backends store properties, metadata and lists as).
pub(crate) fn to_json_text<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(error::internal("cannot write JSON"))
}

/// Scopes as stored: validated at creation, so an unknown one (from a newer groupd) grants
/// nothing rather than failing the key.
pub(crate) fn stored_scopes(names: &str) -> groupd_core::ScopeSet {
    groupd_core::ScopeSet::from_scopes(
        names
            .split(',')
            .filter_map(|s| groupd_core::Scope::parse(s).ok()),
    )
}

/// The index a new type `name` takes among the project's `existing` types: `GroupTypeExists`
/// when the name is taken, `GroupTypeLimit` when every index below the limit is.
pub(crate) fn new_type_index(
    existing: Vec<GroupType>,
    name: &str,
    max_group_types: u32,
) -> StoreResult<GroupTypeIndex> {
    let mut types = TypeAssigner::new(
        existing.into_iter().map(|t| (t.group_type, t.index)),
        max_group_types,
    );
    match types.assign(name) {
        Assignment::Known(_) => Err(StoreError::GroupTypeExists),
        Assignment::Full => Err(StoreError::GroupTypeLimit(max_group_types)),
        Assignment::New(i) => Ok(i),
    }
}

/// An activity row's columns as both backends store them (migration 0004 and its PostgreSQL
/// twin): the kind and action as indexes into [`Activity::ALL`] and [`Action::ALL`] (an unknown
/// code reads as the first), the detail rebuilt from the property and its before/after values.
pub(crate) struct ActivityColumns {
    pub id: String,
    pub actor: Option<String>,
    pub activity: usize,
    pub action: usize,
    pub property: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub created_at: i64,
}

impl ActivityColumns {
    /// The entry of group `group_id` these columns hold.
    pub(crate) fn entry(self, group_id: i64) -> crate::ActivityEntry {
        use groupd_core::groups::{Action, Activity, activity_detail, deletion_detail};
        let activity = Activity::ALL
            .get(self.activity)
            .copied()
            .unwrap_or(Activity::ALL[0]);
        let action = Action::ALL
            .get(self.action)
            .copied()
            .unwrap_or(Action::ALL[0]);
        crate::ActivityEntry {
            id: self.id,
            actor: self
                .actor
                .map_or(groupd_core::Actor::System, groupd_core::Actor::Key),
            activity: activity.as_str().to_owned(),
            item_id: group_id,
            detail: if activity == Activity::DeleteGroup {
                deletion_detail(&self.property)
            } else {
                activity_detail(&self.property, action, self.before, self.after)
            },
            created_at: self.created_at,
        }
    }
}

/// Marks a group's merge metadata stored compactly ([`meta_to_stored`]).
const META_COMPACT: char = '~';

/// A group's merge metadata (`props_meta`) as both backends store it: `~T` for "every property
/// held was decided by a set at T", the common case, followed by the JSON object of the entries
/// that say otherwise (tombstones, set_once, other times), when there are any. The full JSON
/// object (`{name: [time_us, kind]}` per property) was ~35 bytes per property, ~600 per group.
pub(crate) fn meta_to_stored(
    meta: &groupd_core::merge::PropMetaMap,
    properties: &serde_json::Map<String, serde_json::Value>,
) -> StoreResult<String> {
    use groupd_core::merge::{OpKind, PropMeta};
    // The most common time among the held properties decided by a set.
    let mut times: std::collections::HashMap<i64, usize> = Default::default();
    for k in properties.keys() {
        if let Some(PropMeta(t, OpKind::Set)) = meta.get(k) {
            *times.entry(*t).or_default() += 1;
        }
    }
    let Some(common) = times
        .into_iter()
        .max_by_key(|(t, n)| (*n, *t))
        .map(|(t, _)| t)
    else {
        return to_json_text(meta);
    };
    // A held property without metadata counts as set at the beginning of time: said so.
    let mut rest: groupd_core::merge::PropMetaMap = meta
        .iter()
        .filter(|(k, m)| !(**m == PropMeta(common, OpKind::Set) && properties.contains_key(*k)))
        .map(|(k, m)| (k.clone(), *m))
        .collect();
    for k in properties.keys().filter(|k| !meta.contains_key(*k)) {
        rest.insert(k.clone(), PropMeta(i64::MIN, OpKind::Set));
    }
    let mut out = format!("{META_COMPACT}{common}");
    if !rest.is_empty() {
        out.push_str(&to_json_text(&rest)?);
    }
    Ok(out)
}

/// Reads [`meta_to_stored`] back (and the plain JSON object stored before it), given the
/// group's properties.
pub(crate) fn meta_from_stored(
    text: &str,
    properties: &serde_json::Map<String, serde_json::Value>,
) -> StoreResult<groupd_core::merge::PropMetaMap> {
    use groupd_core::merge::{OpKind, PropMeta, PropMetaMap};
    const BAD: &str = "stored property metadata is not valid";
    let Some(compact) = text.strip_prefix(META_COMPACT) else {
        return serde_json::from_str(text).map_err(error::internal(BAD));
    };
    let split = compact.find('{').unwrap_or(compact.len());
    let (time, rest) = compact.split_at(split);
    let common: i64 = time.parse().map_err(error::internal(BAD))?;
    let mut meta: PropMetaMap = if rest.is_empty() {
        PropMetaMap::new()
    } else {
        serde_json::from_str(rest).map_err(error::internal(BAD))?
    };
    for k in properties.keys() {
        meta.entry(k.clone())
            .or_insert(PropMeta(common, OpKind::Set));
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use groupd_core::merge::{OpKind, PropMeta, PropMetaMap};
    use serde_json::json;

    use super::{meta_from_stored, meta_to_stored};

    #[test]
    fn compact_metadata_reads_back_the_same() {
        let props = json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5});
        let props = props.as_object().unwrap();
        let mut meta = PropMetaMap::new();
        for k in ["a", "b", "c"] {
            meta.insert(k.into(), PropMeta(10, OpKind::Set));
        }
        meta.insert("d".into(), PropMeta(7, OpKind::SetOnce));
        meta.insert("gone".into(), PropMeta(12, OpKind::Unset));
        meta.insert("x".into(), PropMeta(10, OpKind::Set)); // not held: kept as said
        // "e" has none: set at the beginning of time, as the rule reads it.
        let stored = meta_to_stored(&meta, props).unwrap();
        assert!(stored.starts_with("~10{"), "{stored}");
        let back = meta_from_stored(&stored, props).unwrap();
        let mut want = meta.clone();
        want.insert("e".into(), PropMeta(i64::MIN, OpKind::Set));
        assert_eq!(back, want);

        // The common case: one time for every property, nothing else.
        let plain: PropMetaMap = props
            .keys()
            .map(|k| (k.clone(), PropMeta(-5, OpKind::Set)))
            .collect();
        let stored = meta_to_stored(&plain, props).unwrap();
        assert_eq!(stored, "~-5");
        assert_eq!(meta_from_stored(&stored, props).unwrap(), plain);

        // Older rows: the whole object.
        let old = serde_json::to_string(&meta).unwrap();
        assert_eq!(meta_from_stored(&old, props).unwrap(), meta);
        // No set-decided property: the whole object.
        let only = PropMetaMap::from([("gone".into(), PropMeta(1, OpKind::Unset))]);
        let empty = serde_json::Map::new();
        assert_eq!(
            meta_to_stored(&only, &empty).unwrap(),
            r#"{"gone":[1,"u"]}"#
        );
    }
}
