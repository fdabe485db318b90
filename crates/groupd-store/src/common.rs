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
