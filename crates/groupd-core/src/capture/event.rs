//! What capture hands to the store: a validated batch of events, each with the group change its
//! `$groupidentify` asks for (or why that change must not be applied).

use super::time::parse_time_us;
use crate::groups::Edit;
use serde_json::{Map, Value};

/// A request whose every event is valid, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedBatch {
    /// The project token (`phc_…`) the request carries; the caller maps it to a project.
    pub token: String,
    /// The batch's `historical_migration` flag (`false` unless the batch says `true`).
    pub historical_migration: bool,
    /// The events in request order, `$performance_event`s already dropped. May be empty when every
    /// event was dropped (answer 200).
    pub events: Vec<CaptureEvent>,
}

/// One accepted event.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureEvent {
    /// Position in the request (from 0, dropped events counted), for warnings and logs.
    pub index: usize,
    /// The event's `uuid`, or a fresh UUIDv7 when it had none.
    pub uuid: uuid::Uuid,
    /// `timestamp` exactly as sent (before skew correction); with `uuid`, the idempotency key.
    /// `None` when absent (or `null`).
    pub client_timestamp: Option<String>,
    /// The event name (`$identify` for an `/engage` event without one).
    pub event: String,
    /// `distinct_id` as text (non-strings as their JSON text), at most 200 characters.
    pub distinct_id: String,
    /// The event time (skew-corrected, future-capped: see [`super::time`]), µs since the epoch.
    pub timestamp_us: i64,
    /// When the server received the request, µs since the epoch.
    pub received_at_us: i64,
    /// The `properties` object exactly as sent (`{}` when absent or `null`).
    pub properties_json: String,
    /// `properties.$groups` as `type → key` pairs in order (keys stringified, `null` keys skipped),
    /// when `$groups` is an object. Empty when `$process_person_profile` is `false`.
    pub groups: Vec<(String, String)>,
    /// `properties.$process_person_profile` is not `false`. When `false`, [`Self::groups`] is
    /// empty and [`Self::group_identify`] is `None`: the client asked for no group work at all.
    pub process_person_profile: bool,
    /// For a `$groupidentify` event (with person processing on): the change to apply, or why it
    /// must not be applied (the event is stored anyway and the store records an ingestion warning).
    pub group_identify: Option<Result<GroupIdentify, InvalidGroupIdentify>>,
}

/// What a valid `$groupidentify` does to its group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupIdentify {
    /// `$group_type`, as sent.
    pub group_type: String,
    /// `$group_key` (numbers stringified), non-blank, at most 400 characters.
    pub group_key: String,
    /// `$group_set` when it is an object.
    pub set: Map<String, Value>,
    /// `$group_set_once` when it is an object.
    pub set_once: Map<String, Value>,
    /// `$group_unset`: its string items when it is an array (a single string counts as one name).
    pub unset: Vec<String>,
}

/// A `$groupidentify` the store must not apply: the event is stored and an
/// [`super::INVALID_GROUP_IDENTIFY`] warning recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGroupIdentify {
    /// Why, in words, e.g. `$group_key is missing or blank.`.
    pub reason: &'static str,
    /// `$group_type` when it is a string.
    pub group_type: Option<String>,
    /// `$group_key` (stringified), cut to 400 characters, when present.
    pub group_key: Option<String>,
}

/// `sent_ts` of events sent without a timestamp: they all share one value, so a retry of such an
/// event (same uuid, still no timestamp) is recognised too.
pub const NO_TIMESTAMP: i64 = i64::MIN;

impl CaptureEvent {
    /// The idempotency key, `(client timestamp as sent, uuid)`: a retried event carries both
    /// unchanged, while a uuid reused at another time is another event. The timestamp is the one
    /// the client sent (µs), before skew correction; [`NO_TIMESTAMP`] when it sent none.
    pub fn idempotency_key(&self) -> (i64, uuid::Uuid) {
        let sent_ts = self
            .client_timestamp
            .as_deref()
            .and_then(parse_time_us)
            .unwrap_or(NO_TIMESTAMP);
        (sent_ts, self.uuid)
    }

    /// The `$groups` pairs that name a group: a non-blank type and a non-empty key. The others are
    /// ignored (stored with the event's properties, never turned into a type).
    pub fn group_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.groups
            .iter()
            .filter(|(name, key)| !name.trim().is_empty() && !key.is_empty())
            .map(|(n, k)| (n.as_str(), k.as_str()))
    }

    /// The time the merge rules order this event's changes by: `min(timestamp, received_at)`, so
    /// a client clock ahead of the server cannot make a change win over later ones.
    pub fn merge_time_us(&self) -> i64 {
        self.timestamp_us.min(self.received_at_us)
    }
}

impl GroupIdentify {
    /// The change this identify makes to its group: `$group_set_once`, then `$group_set`, then
    /// `$group_unset`, all at the event's merge time.
    pub fn edit(&self) -> Edit<'_> {
        Edit::Identify {
            set_once: &self.set_once,
            set: &self.set,
            unset: &self.unset,
        }
    }
}

impl InvalidGroupIdentify {
    /// The `details` of its [`super::INVALID_GROUP_IDENTIFY`] warning.
    pub fn details(&self, event_uuid: uuid::Uuid) -> Value {
        serde_json::json!({
            "reason": self.reason,
            "group_type": self.group_type,
            "group_key": self.group_key,
            "event_uuid": event_uuid.to_string(),
        })
    }
}
