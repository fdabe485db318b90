//! Events as related groups and usage metrics read them: a window of a project's events (the
//! store's time-bounded read), each event's group keys as they count today, and the
//! [`EventFacts`] the core filter evaluates.
//!
//! A group type index can be reused: after a type is deleted and another created at its index,
//! events received before the new type's `created_at` keep their `$group_N` keys, but those keys
//! name groups of the old type. So an event's key of index N counts only when a type holds N and,
//! when N was used before, the event was received after that type was made ([`TypeEpochs`]).
//! Receipt, not event time: capture assigns `$group_N` by the types of the moment it receives an
//! event, so a backdated event sent after the new type exists is the new type's (the query
//! engine uses the same rule). A type at a fresh index owns every event of its index.
use std::collections::HashMap;

use groupd_core::{GroupKey, GroupTypeIndex, ProjectId, filters::EventFacts};
use groupd_store::{Group, GroupRef, GroupType, Store, StoreResult, WindowEvent};
use serde_json::{Map, Value};

/// From when the type at each index owns its events, `None` where no type is.
#[derive(Debug, Clone, Default)]
pub struct TypeEpochs(Vec<Option<i64>>);

impl TypeEpochs {
    /// Reads the project's current types and reused indexes.
    pub async fn load(store: &dyn Store, project: ProjectId) -> StoreResult<Self> {
        let types = store.list_group_types(project).await?;
        let reused = store.reused_type_indexes(project).await?;
        Ok(Self::new(&types, &reused))
    }

    /// From the project's current types and the indexes used before them.
    pub fn new(types: &[GroupType], reused: &[GroupTypeIndex]) -> Self {
        let len = types
            .iter()
            .filter_map(|t| usize::try_from(t.index.0).ok())
            .max()
            .map_or(0, |m| m + 1);
        let mut v = vec![None; len];
        for t in types {
            if let Ok(i) = usize::try_from(t.index.0) {
                v[i] = Some(if reused.contains(&t.index) {
                    t.created_at
                } else {
                    i64::MIN
                });
            }
        }
        Self(v)
    }

    /// The event's key of type `index` as it counts today: `""` when no type holds the index or
    /// the event was received before the type was made.
    pub fn key<'e>(&self, e: &'e WindowEvent, index: GroupTypeIndex) -> &'e str {
        let since = usize::try_from(index.0)
            .ok()
            .and_then(|i| self.0.get(i).copied().flatten());
        match since {
            Some(created) if e.created_at_us >= created => e.group_key(index),
            _ => "",
        }
    }
}

/// A stored group with its properties parsed.
pub struct Loaded {
    /// The group.
    pub group: Group,
    /// Its properties.
    pub properties: Map<String, Value>,
}

/// Stored groups by (index, key), loaded once per request: `None` for a key with no group.
#[derive(Default)]
pub struct GroupCache(HashMap<(GroupTypeIndex, String), Option<Loaded>>);

impl GroupCache {
    /// Loads the group once; `None` when it is not stored.
    pub async fn load(
        &mut self,
        store: &dyn Store,
        project: ProjectId,
        index: GroupTypeIndex,
        key: &str,
    ) -> StoreResult<Option<&Loaded>> {
        let k = (index, key.to_owned());
        if !self.0.contains_key(&k) {
            let found = match GroupKey::parse(key.to_owned()) {
                Ok(key) => store
                    .find_group(&GroupRef {
                        project,
                        index,
                        key,
                    })
                    .await?
                    .map(|group| Loaded {
                        properties: group.properties(),
                        group,
                    }),
                Err(_) => None,
            };
            self.0.insert(k.clone(), found);
        }
        Ok(self.0.get(&k).and_then(Option::as_ref))
    }

    /// A loaded group's properties.
    pub fn get(&self, index: GroupTypeIndex, key: &str) -> Option<&Map<String, Value>> {
        self.0
            .get(&(index, key.to_owned()))
            .and_then(Option::as_ref)
            .map(|l| &l.properties)
    }
}

/// One event with its properties parsed, as the filter evaluator sees it.
pub struct Facts<'a> {
    /// The event.
    pub event: &'a WindowEvent,
    /// Its properties.
    pub properties: Map<String, Value>,
    /// Which group keys count.
    pub epochs: &'a TypeEpochs,
    /// The groups loaded for the filter's group properties.
    pub groups: &'a GroupCache,
}

impl<'a> Facts<'a> {
    /// Parses the event's properties (an unparsable text reads as no properties).
    pub fn new(event: &'a WindowEvent, epochs: &'a TypeEpochs, groups: &'a GroupCache) -> Self {
        Self {
            event,
            properties: serde_json::from_str(&event.properties).unwrap_or_default(),
            epochs,
            groups,
        }
    }
}

impl EventFacts for Facts<'_> {
    fn event(&self) -> &str {
        &self.event.event
    }

    fn property(&self, key: &str) -> Option<&Value> {
        self.properties.get(key)
    }

    fn group_property(&self, index: GroupTypeIndex, key: &str) -> Option<&Value> {
        let group = self.epochs.key(self.event, index);
        if group.is_empty() {
            return None;
        }
        self.groups.get(index, group)?.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(index: i64, created_at: i64) -> GroupType {
        GroupType {
            index: GroupTypeIndex(index),
            group_type: format!("t{index}"),
            name_singular: None,
            name_plural: None,
            default_columns: None,
            created_at,
        }
    }

    /// An event received at `received`, dated a day earlier (backdated events are common).
    fn event(received: i64, keys: &[&str]) -> WindowEvent {
        WindowEvent {
            event: "e".into(),
            distinct_id: "u".into(),
            timestamp_us: received - 86_400_000_000,
            created_at_us: received,
            properties: "{}".into(),
            group_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        }
    }

    #[test]
    fn a_reused_index_owns_only_events_received_after_its_type() {
        let epochs = TypeEpochs::new(&[ty(0, 100), ty(1, 100)], &[GroupTypeIndex(1)]);
        let old = event(50, &["a", "b", "c"]);
        let new = event(100, &["a", "b", "c"]);
        let (i0, i1, i2) = (GroupTypeIndex(0), GroupTypeIndex(1), GroupTypeIndex(2));
        assert_eq!(epochs.key(&old, i0), "a", "a fresh index owns older events");
        assert_eq!(epochs.key(&old, i1), "", "a reused index does not");
        assert_eq!(epochs.key(&new, i1), "b");
        assert_eq!(epochs.key(&new, i2), "", "no type at 2");
    }
}
