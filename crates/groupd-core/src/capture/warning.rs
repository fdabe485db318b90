//! Ingestion warnings: what capture stored but could not apply, recorded per project for the
//! operator (PostHog's `ingestion_warnings`). The texts are decided here once for both backends.

use serde_json::{Value, json};

use super::{CaptureEvent, InvalidGroupIdentify};

/// The warning type of a group type the project has no room for.
pub const GROUP_TYPE_LIMIT_REACHED: &str = "group_type_limit_reached";
/// The warning type of a `$groupidentify` that cannot be applied.
pub const INVALID_GROUP_IDENTIFY: &str = "invalid_group_identify";
/// The warning type of a `$groupidentify` dated before its group's deletion: the event is
/// stored, its group change dropped.
pub const GROUP_DELETED: &str = "group_deleted";
/// Most warnings a project keeps; older ones are pruned as new ones arrive.
pub const WARNINGS_KEPT: i64 = 1000;

/// One warning to record.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestWarning {
    /// [`GROUP_TYPE_LIMIT_REACHED`] or [`INVALID_GROUP_IDENTIFY`].
    pub kind: &'static str,
    /// The `details` object.
    pub details: Value,
}

impl IngestWarning {
    /// `group_type` is new, and the project already holds `max_group_types` types: the event is
    /// stored without its group (and an identify of that type is not applied).
    pub fn type_limit(group_type: &str, ev: &CaptureEvent, max_group_types: u32) -> Self {
        Self {
            kind: GROUP_TYPE_LIMIT_REACHED,
            details: json!({
                "group_type": group_type,
                "max_group_types": max_group_types,
                "event_uuid": ev.uuid.to_string(),
                "event": ev.event,
            }),
        }
    }

    /// The group the identify names was deleted after the event's time (`deleted_at_us`).
    pub fn group_deleted(
        group_type: &str,
        group_key: &str,
        event_uuid: uuid::Uuid,
        deleted_at_us: i64,
    ) -> Self {
        Self {
            kind: GROUP_DELETED,
            details: json!({
                "group_type": group_type,
                "group_key": group_key,
                "event_uuid": event_uuid.to_string(),
                "deleted_at": crate::time_fmt::format_us(deleted_at_us),
            }),
        }
    }

    /// The event is a `$groupidentify` that names no valid group.
    pub fn invalid_identify(invalid: &InvalidGroupIdentify, ev: &CaptureEvent) -> Self {
        Self {
            kind: INVALID_GROUP_IDENTIFY,
            details: invalid.details(ev.uuid),
        }
    }
}
