use serde_json::{Map, Value};

use crate::merge::PropMetaMap;

/// One group as stored: what the rule needs to decide the next edit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupState {
    /// Current properties, in stored key order.
    pub properties: Map<String, Value>,
    /// Per property, the time and kind of the operation that decided it; unset properties keep a
    /// tombstone here, so an older set cannot bring them back.
    pub meta: PropMetaMap,
    /// The earliest event time the group is known by (µs).
    pub created_at_us: i64,
    /// When a change last made a visible difference (server time, µs).
    pub updated_at_us: i64,
}

/// Everything stored at one group address: the group, if one is visible, and the group-level
/// tombstone of its last deletion.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupSlot {
    /// The group; `None` when there is none (never created, or deleted).
    pub group: Option<GroupState>,
    /// The event time of the latest deletion: edits dated before it are refused.
    pub deleted_at_us: Option<i64>,
}

impl GroupSlot {
    /// A slot holding `group` (or nothing) and no tombstone: every address before deletion exists.
    pub fn of(group: Option<GroupState>) -> Self {
        Self {
            group,
            deleted_at_us: None,
        }
    }
}
