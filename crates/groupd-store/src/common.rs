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
