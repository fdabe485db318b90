//! Step 4 of "Decoding the payload" and "The event" (capture.md): read the JSON shapes, find the
//! token, and validate every event, all-or-nothing.
//!
//! Events are read with typed visitors over borrowed [`RawValue`]s: only the fields capture needs
//! are interpreted, and `properties` is kept as the exact text the client sent.

use super::{CaptureError, CaptureLimits, NO_EVENT};
use crate::domain::{GROUP_KEY_MAX_CHARS, GroupKey, GroupKeyError};
use crate::time_fmt::parse_rfc3339_us;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// Longest stored `distinct_id`, in characters (longer ones are truncated).
pub const DISTINCT_ID_MAX_CHARS: usize = 200;
/// How far in the future (µs) a computed timestamp may lie before `received_at` replaces it.
pub const MAX_FUTURE_US: i64 = 23 * 3600 * 1_000_000;
/// The ingestion-warning type recorded for a `$groupidentify` the store must not apply.
pub const INVALID_GROUP_IDENTIFY: &str = "invalid_group_identify";

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
    /// The event time per capture.md "Time" (skew-corrected, future-capped), µs since the epoch.
    pub timestamp_us: i64,
    /// When the server received the request, µs since the epoch.
    pub received_at_us: i64,
    /// The `properties` object exactly as sent (`{}` when absent or `null`).
    pub properties_json: String,
    /// `properties.$groups` as `type → key` pairs in order (keys stringified, `null` keys skipped),
    /// when `$groups` is an object. Empty when `$process_person_profile` is `false`.
    pub groups: Vec<(String, String)>,
    /// `properties.$process_person_profile` is not `false`. When `false`, [`Self::groups`] is
    /// empty and [`Self::group_identify`] is `None`: capture.md says group work is skipped entirely.
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

/// A `$groupidentify` the store must not apply: warning type [`INVALID_GROUP_IDENTIFY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidGroupIdentify {
    /// Why, in words, e.g. `$group_key is missing or blank.`.
    pub reason: &'static str,
    /// `$group_type` when it is a string.
    pub group_type: Option<String>,
    /// `$group_key` (stringified), cut to 400 characters, when present.
    pub group_key: Option<String>,
}

impl InvalidGroupIdentify {
    /// The warning's `details` object.
    pub fn details(&self, event_uuid: uuid::Uuid) -> Value {
        serde_json::json!({
            "reason": self.reason,
            "group_type": self.group_type,
            "group_key": self.group_key,
            "event_uuid": event_uuid.to_string(),
        })
    }
}

/// The time the merge rules use for an event: `min(timestamp_used, received_at)`.
pub fn merge_time_us(ev: &CaptureEvent) -> i64 {
    ev.timestamp_us.min(ev.received_at_us)
}

// ---------------------------------------------------------------------------------------------
// Typed readers

/// A map key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Declares a struct of optional raw fields read from a JSON object; unknown keys are skipped and
/// a repeated key keeps its last value (as a JSON object model would).
macro_rules! raw_fields {
    ($name:ident { $($field:ident = $key:literal),* $(,)? }) => {
        #[derive(Default)]
        struct $name<'a> {
            $($field: Option<&'a RawValue>,)*
        }

        impl<'de> Deserialize<'de> for $name<'de> {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<Key<'de>>()? {
                            match key.0.as_ref() {
                                $($key => out.$field = Some(map.next_value()?),)*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

/// The batch object's fields. `batch` is split into its events in the same pass.
#[derive(Default)]
struct Envelope<'a> {
    batch: Option<BatchField<'a>>,
    api_key: Option<&'a RawValue>,
    token: Option<&'a RawValue>,
    sent_at: Option<&'a RawValue>,
    sent_at_camel: Option<&'a RawValue>,
    historical_migration: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Envelope::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.0.as_ref() {
                        "batch" => out.batch = Some(map.next_value()?),
                        "api_key" => out.api_key = Some(map.next_value()?),
                        "token" => out.token = Some(map.next_value()?),
                        "sent_at" => out.sent_at = Some(map.next_value()?),
                        "sentAt" => out.sent_at_camel = Some(map.next_value()?),
                        "historical_migration" => {
                            out.historical_migration = Some(map.next_value()?);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// The value of `batch`: its events when it is an array.
enum BatchField<'a> {
    Null,
    Events(Vec<&'a RawValue>),
    NotArray,
}

impl<'de> Deserialize<'de> for BatchField<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BatchField<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of events")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(ev) = seq.next_element::<&'de RawValue>()? {
                    events.push(ev);
                }
                Ok(BatchField::Events(events))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(BatchField::NotArray)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(BatchField::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(BatchField::NotArray)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(BatchField::NotArray)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(BatchField::NotArray)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(BatchField::NotArray)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(BatchField::NotArray)
            }
        }
        d.deserialize_any(V)
    }
}

raw_fields!(EventIn {
    event = "event",
    distinct_id = "distinct_id",
    dollar_distinct_id = "$distinct_id",
    uuid = "uuid",
    timestamp = "timestamp",
    offset = "offset",
    properties = "properties",
    api_key = "api_key",
    token = "token",
    dollar_token = "$token",
});

raw_fields!(PropsIn {
    token = "token",
    distinct_id = "distinct_id",
    ignore_sent_at = "$ignore_sent_at",
    groups = "$groups",
    process_person_profile = "$process_person_profile",
    group_type = "$group_type",
    group_key = "$group_key",
    group_set = "$group_set",
    group_set_once = "$group_set_once",
    group_unset = "$group_unset",
});

/// `Some` only for a non-null value.
fn present(v: Option<&RawValue>) -> Option<&RawValue> {
    v.filter(|v| v.get() != "null")
}

fn as_string(v: &RawValue) -> Option<String> {
    if !v.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<String>(v.get()).ok()
}

fn as_bool(v: Option<&RawValue>) -> Option<bool> {
    match v?.get() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A string as itself; anything else (but `null`) as its compact JSON text.
fn stringify(v: &RawValue) -> Option<String> {
    if v.get() == "null" {
        return None;
    }
    if let Some(s) = as_string(v) {
        return Some(s);
    }
    serde_json::from_str::<Value>(v.get())
        .ok()
        .map(|v| v.to_string())
}

fn non_empty_string(v: Option<&RawValue>) -> Option<String> {
    v.and_then(as_string).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Stage 1: shape and token

/// What was read of one event in stage 1.
struct Slot<'a> {
    raw_len: usize,
    /// `None` when the event is not an object.
    event: Option<EventIn<'a>>,
    props: Props<'a>,
}

enum Props<'a> {
    Absent,
    Object(&'a RawValue, PropsIn<'a>),
    NotObject,
}

impl<'a> Slot<'a> {
    fn read(raw: &'a RawValue) -> Self {
        Self::read_str(raw.get())
    }

    fn read_str(text: &'a str) -> Self {
        let event = serde_json::from_str::<EventIn<'a>>(text).ok();
        let props = match event.as_ref().and_then(|e| present(e.properties)) {
            None => Props::Absent,
            Some(p) => match serde_json::from_str::<PropsIn<'a>>(p.get()) {
                Ok(parsed) => Props::Object(p, parsed),
                Err(_) => Props::NotObject,
            },
        };
        Slot {
            raw_len: text.len(),
            event,
            props,
        }
    }

    /// The event's own token: `api_key`, `token`, `$token`, then `properties.token`.
    fn token(&self) -> Option<String> {
        let e = self.event.as_ref()?;
        non_empty_string(e.api_key)
            .or_else(|| non_empty_string(e.token))
            .or_else(|| non_empty_string(e.dollar_token))
            .or_else(|| match &self.props {
                Props::Object(_, p) => non_empty_string(p.token),
                _ => None,
            })
    }
}

/// A request read as one of the accepted shapes, with its token found but its events not yet
/// validated. Lets the caller check the token (401) before event validation (400), the order
/// README.md fixes.
pub struct ParsedRequest<'a> {
    token: String,
    historical_migration: bool,
    sent_at_us: Option<i64>,
    engage: bool,
    slots: Vec<Slot<'a>>,
}

impl fmt::Debug for ParsedRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedRequest")
            .field("token", &self.token)
            .field("historical_migration", &self.historical_migration)
            .field("sent_at_us", &self.sent_at_us)
            .field("events", &self.slots.len())
            .finish()
    }
}

fn shape_error() -> CaptureError {
    CaptureError::InvalidPayload(
        "Payload must be an event, an array of events, or an object with a batch array.".to_owned(),
    )
}

/// Step 4 and the token: reads `json` as a batch object, an array of events, or a single event
/// (on `/engage`, an event without `event` becomes `$identify`).
///
/// Errors, in this order: 400 for text that is not UTF-8 JSON of an accepted shape; 400
/// `Request holds no event.` for an empty batch or array; 401 `missing_api_key` when no token is
/// found; 400 when the events carry different tokens.
pub fn parse_request(json: &[u8], engage: bool) -> Result<ParsedRequest<'_>, CaptureError> {
    let text = std::str::from_utf8(json)
        .map_err(|_| CaptureError::InvalidPayload("Payload is not valid UTF-8.".to_owned()))?;
    // Some clients write a byte-order mark before the JSON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let not_json = |e: serde_json::Error| {
        // serde_json says e.g. "expected value at line 1 column 5": that helps the client.
        CaptureError::InvalidPayload(format!("Payload is not valid JSON: {e}."))
    };

    let (slots, batch_token, historical_migration, sent_at_us) = match text
        .trim_start()
        .as_bytes()
        .first()
    {
        Some(b'[') => {
            let events: Vec<&RawValue> = serde_json::from_str(text).map_err(not_json)?;
            (
                events.into_iter().map(Slot::read).collect(),
                None,
                false,
                None,
            )
        }
        Some(b'{') => {
            let env: Envelope<'_> = serde_json::from_str(text).map_err(not_json)?;
            let batch_token = non_empty_string(env.api_key).or_else(|| non_empty_string(env.token));
            let sent_at_us = present(env.sent_at)
                .or(present(env.sent_at_camel))
                .and_then(as_string)
                .and_then(|s| parse_time_us(&s));
            let historical = as_bool(env.historical_migration) == Some(true);
            let slots = match env.batch {
                Some(BatchField::Events(events)) => events.into_iter().map(Slot::read).collect(),
                Some(BatchField::NotArray) => return Err(shape_error()),
                Some(BatchField::Null) | None => vec![Slot::read_str(text.trim())],
            };
            (slots, batch_token, historical, sent_at_us)
        }
        Some(_) => {
            // Valid JSON of the wrong shape, or not JSON at all.
            serde_json::from_str::<IgnoredAny>(text).map_err(not_json)?;
            return Err(shape_error());
        }
        None => return Err(CaptureError::InvalidPayload(NO_EVENT.to_owned())),
    };

    if slots.is_empty() {
        return Err(CaptureError::InvalidPayload(NO_EVENT.to_owned()));
    }
    let token = match batch_token {
        Some(t) => t,
        None => {
            let mut found: Option<String> = None;
            for t in slots.iter().filter_map(Slot::token) {
                match &found {
                    None => found = Some(t),
                    Some(f) if *f == t => {}
                    Some(_) => {
                        return Err(CaptureError::InvalidPayload(
                            "Request holds events with different tokens.".to_owned(),
                        ));
                    }
                }
            }
            found.ok_or(CaptureError::MissingApiKey)?
        }
    };
    Ok(ParsedRequest {
        token,
        historical_migration,
        sent_at_us,
        engage,
        slots,
    })
}

/// [`parse_request`] then [`ParsedRequest::validate`], for callers that check the token later.
pub fn parse_batch(
    json: &[u8],
    engage: bool,
    received_at_us: i64,
    limits: &CaptureLimits,
) -> Result<ValidatedBatch, CaptureError> {
    parse_request(json, engage)?.validate(received_at_us, limits)
}

// ---------------------------------------------------------------------------------------------
// Stage 2: validation

impl ParsedRequest<'_> {
    /// The request's project token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// How many events the request holds (dropped ones included).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Never true: an empty request is refused by [`parse_request`].
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Validates every event, all-or-nothing: the first bad event (in request order, from 0)
    /// fails the request with 400 `Event N of the batch …` (or 413 when it is over
    /// `limits.max_event_bytes`). `$performance_event`s are dropped without further checks.
    pub fn validate(
        self,
        received_at_us: i64,
        limits: &CaptureLimits,
    ) -> Result<ValidatedBatch, CaptureError> {
        let mut events = Vec::with_capacity(self.slots.len());
        for (index, slot) in self.slots.into_iter().enumerate() {
            if let Some(ev) = validate_event(
                index,
                slot,
                self.engage,
                self.sent_at_us,
                received_at_us,
                limits,
            )? {
                events.push(ev);
            }
        }
        Ok(ValidatedBatch {
            token: self.token,
            historical_migration: self.historical_migration,
            events,
        })
    }
}

fn bad(index: usize, what: &str) -> CaptureError {
    CaptureError::InvalidPayload(format!("Event {index} of the batch {what}."))
}

fn validate_event(
    index: usize,
    slot: Slot<'_>,
    engage: bool,
    sent_at_us: Option<i64>,
    received_at_us: i64,
    limits: &CaptureLimits,
) -> Result<Option<CaptureEvent>, CaptureError> {
    let Some(e) = slot.event else {
        return Err(bad(index, "is not an object"));
    };

    // Name first: a dropped $performance_event needs no other check.
    let event = match present(e.event) {
        None if engage => "$identify".to_owned(),
        None => return Err(bad(index, "has no event name")),
        Some(v) => match as_string(v) {
            Some(s) if s.is_empty() => return Err(bad(index, "has no event name")),
            Some(s) => without_nul(s),
            None => return Err(bad(index, "has an invalid event name")),
        },
    };
    if event == "$performance_event" {
        return Ok(None);
    }
    if slot.raw_len > limits.max_event_bytes {
        return Err(CaptureError::PayloadTooLarge(format!(
            "Event {index} of the batch is larger than the {}-byte limit.",
            limits.max_event_bytes
        )));
    }

    let (properties_json, props) = match slot.props {
        Props::Absent => (String::from("{}"), PropsIn::default()),
        Props::Object(raw, p) => (raw.get().to_owned(), p),
        Props::NotObject => return Err(bad(index, "has properties that are not an object")),
    };

    let distinct_id = [e.distinct_id, e.dollar_distinct_id, props.distinct_id]
        .into_iter()
        .flatten()
        .find_map(stringify)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(index, "has no distinct_id"))?;
    let distinct_id = truncate_chars(without_nul(distinct_id), DISTINCT_ID_MAX_CHARS);

    let uuid = match present(e.uuid) {
        None => uuid::Uuid::now_v7(),
        Some(v) => as_string(v)
            .and_then(|s| uuid::Uuid::parse_str(&s).ok())
            .ok_or_else(|| bad(index, "has an invalid uuid"))?,
    };

    let client_timestamp = match present(e.timestamp) {
        None => None,
        Some(v) => Some(as_string(v).ok_or_else(|| bad(index, "has an invalid timestamp"))?),
    };
    let ignore_sent_at = as_bool(props.ignore_sent_at) == Some(true);
    let timestamp_us = match &client_timestamp {
        Some(ts) => {
            let ts_us = parse_time_us(ts).ok_or_else(|| bad(index, "has an invalid timestamp"))?;
            match sent_at_us {
                Some(sent) if !ignore_sent_at => {
                    received_at_us.saturating_add(ts_us.saturating_sub(sent))
                }
                _ => ts_us,
            }
        }
        None => match present(e.offset) {
            None => received_at_us,
            Some(v) => {
                let ms = serde_json::from_str::<f64>(v.get())
                    .ok()
                    .filter(|ms| ms.is_finite())
                    .ok_or_else(|| bad(index, "has an invalid offset"))?;
                // `as` saturates; offsets beyond ±292k years end up capped below anyway.
                received_at_us.saturating_sub((ms * 1000.0) as i64)
            }
        },
    };
    let timestamp_us = if timestamp_us > received_at_us.saturating_add(MAX_FUTURE_US) {
        received_at_us
    } else {
        timestamp_us
    };

    let process_person_profile = as_bool(props.process_person_profile) != Some(false);
    let (groups, group_identify) = if process_person_profile {
        let groups = present(props.groups).map(read_groups).unwrap_or_default();
        let gi = (event == "$groupidentify").then(|| read_group_identify(&props));
        (groups, gi)
    } else {
        (Vec::new(), None)
    };

    Ok(Some(CaptureEvent {
        index,
        uuid,
        client_timestamp,
        event,
        distinct_id,
        timestamp_us,
        received_at_us,
        properties_json,
        groups,
        process_person_profile,
        group_identify,
    }))
}

/// U+0000 becomes U+FFFD in the texts stored as columns (event name, distinct_id, `$groups`):
/// PostgreSQL text cannot hold it, and both backends must store the same thing.
fn without_nul(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{fffd}")
    } else {
        s
    }
}

fn truncate_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s,
    }
}

/// RFC 3339 as SDKs send it (`Z` or an offset, any fraction), also tolerating a space for the
/// `T` and a missing offset (read as UTC), which some older SDKs send.
pub fn parse_time_us(s: &str) -> Option<i64> {
    if let Some(us) = parse_rfc3339_us(s) {
        return Some(us);
    }
    let s = s.trim();
    if s.len() < 19 || !s.is_ascii() {
        return None;
    }
    let mut fixed = String::with_capacity(s.len() + 1);
    fixed.push_str(&s[..10]);
    fixed.push('T');
    fixed.push_str(&s[11..]);
    let tail = &fixed[19..];
    if !tail.contains(['Z', 'z', '+', '-']) {
        fixed.push('Z');
    }
    parse_rfc3339_us(&fixed)
}

fn read_groups(v: &RawValue) -> Vec<(String, String)> {
    let Ok(GroupsIn(map)) = serde_json::from_str::<GroupsIn<'_>>(v.get()) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::with_capacity(map.len());
    for (group_type, key) in map {
        let Some(key) = stringify(key).map(without_nul) else {
            continue;
        };
        let group_type = without_nul(group_type);
        match out.iter_mut().find(|(t, _)| *t == group_type) {
            Some(slot) => slot.1 = key,
            None => out.push((group_type, key)),
        }
    }
    out
}

/// `$groups` as ordered `(type, raw key)` pairs; fails for anything but an object.
struct GroupsIn<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for GroupsIn<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GroupsIn<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    out.push((key.0.into_owned(), map.next_value()?));
                }
                Ok(GroupsIn(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn object(v: Option<&RawValue>) -> Map<String, Value> {
    present(v)
        .and_then(|v| serde_json::from_str::<Map<String, Value>>(v.get()).ok())
        .unwrap_or_default()
}

fn read_group_identify(p: &PropsIn<'_>) -> Result<GroupIdentify, InvalidGroupIdentify> {
    let group_type = present(p.group_type).and_then(as_string);
    let group_key = present(p.group_key).and_then(stringify);
    let invalid = |reason: &'static str| InvalidGroupIdentify {
        reason,
        group_type: group_type.clone().map(without_nul),
        group_key: group_key
            .clone()
            .map(|k| truncate_chars(without_nul(k), GROUP_KEY_MAX_CHARS)),
    };
    let Some(ty) = group_type.as_deref().filter(|t| !t.trim().is_empty()) else {
        return Err(invalid("$group_type is missing or blank."));
    };
    if ty.contains('\0') {
        return Err(invalid("$group_type contains a NUL character."));
    }
    let key = match GroupKey::parse(group_key.clone().unwrap_or_default()) {
        Ok(k) => k.into_string(),
        Err(GroupKeyError::Blank) => return Err(invalid("$group_key is missing or blank.")),
        Err(GroupKeyError::TooLong) => {
            return Err(invalid("$group_key is longer than 400 characters."));
        }
        Err(GroupKeyError::NulCharacter) => {
            return Err(invalid("$group_key contains a NUL character."));
        }
    };
    let unset = match present(p.group_unset) {
        None => Vec::new(),
        Some(v) => match serde_json::from_str::<Value>(v.get()) {
            Ok(Value::Array(items)) => items
                .into_iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            Ok(Value::String(s)) => vec![s],
            _ => Vec::new(),
        },
    };
    Ok(GroupIdentify {
        group_type: ty.to_owned(),
        group_key: key,
        set: object(p.group_set),
        set_once: object(p.group_set_once),
        unset,
    })
}
