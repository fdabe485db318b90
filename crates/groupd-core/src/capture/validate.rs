//! "The event": every event of a request validated, all-or-nothing, into a [`ValidatedBatch`].
//! The first bad event (in request order, from 0) names itself in the 400's detail.

use super::parse::ParsedRequest;
use super::time::{Dated, event_time_us, parse_time_us};
use super::wire::{GroupsIn, Props, PropsIn, Slot, as_bool, as_string, present, stringify};
use super::{
    CaptureError, CaptureEvent, CaptureLimits, GroupIdentify, InvalidGroupIdentify, ValidatedBatch,
};
use crate::domain::{GROUP_KEY_MAX_CHARS, GroupKey, GroupKeyError};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Longest stored `distinct_id`, in characters (longer ones are truncated).
pub const DISTINCT_ID_MAX_CHARS: usize = 200;

impl ParsedRequest<'_> {
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
    // Text no database can hold the same way on both backends never reaches one.
    let texts = [
        ("event", present(e.event).map(RawValue::get)),
        ("distinct_id", present(e.distinct_id).map(RawValue::get)),
        (
            "$distinct_id",
            present(e.dollar_distinct_id).map(RawValue::get),
        ),
        ("properties", Some(properties_json.as_str())),
    ];
    for (field, raw) in texts {
        if let Some(problem) = raw.and_then(bad_text) {
            return Err(bad(index, &format!("has {problem} in {field}")));
        }
    }

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
    let dated = match &client_timestamp {
        Some(ts) => Dated::Timestamp {
            at_us: parse_time_us(ts).ok_or_else(|| bad(index, "has an invalid timestamp"))?,
            ignore_sent_at: as_bool(props.ignore_sent_at) == Some(true),
        },
        None => match present(e.offset) {
            None => Dated::Undated,
            Some(v) => Dated::Offset {
                ms: serde_json::from_str::<f64>(v.get())
                    .ok()
                    .filter(|ms| ms.is_finite())
                    .ok_or_else(|| bad(index, "has an invalid offset"))?,
            },
        },
    };
    let timestamp_us = event_time_us(dated, sent_at_us, received_at_us);
    if !(MIN_TIME_US..=MAX_TIME_US).contains(&timestamp_us) {
        return Err(bad(index, "has a time outside the years 0001–9999"));
    }

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

/// 0001-01-01T00:00:00Z in µs since the Unix epoch: the first time both backends store.
const MIN_TIME_US: i64 = -62_135_596_800_000_000;
/// 9999-12-31T23:59:59.999999Z in µs: the last.
const MAX_TIME_US: i64 = 253_402_300_799_999_999;

/// What in a piece of JSON text no backend stores faithfully: a NUL character (PostgreSQL text
/// and jsonb refuse it) or a lone UTF-16 surrogate escape (not a character at all). Both occur
/// only as `\u` escapes, since JSON text cannot hold them raw.
pub(crate) fn bad_text(json: &str) -> Option<&'static str> {
    let b = json.as_bytes();
    let hex = |i: usize| {
        b.get(i..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if b.get(i + 1) != Some(&b'u') {
            i += 2; // `\"`, `\\`, `\n`…: the escaped character is no escape itself.
            continue;
        }
        let Some(unit) = hex(i + 2) else {
            return None; // not valid JSON: the parser reports it
        };
        i += 6;
        match unit {
            0 => return Some("a NUL character"),
            0xD800..=0xDBFF => {
                let low = (b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u'))
                    .then(|| hex(i + 2))
                    .flatten();
                match low {
                    Some(0xDC00..=0xDFFF) => i += 6,
                    _ => return Some("a lone UTF-16 surrogate"),
                }
            }
            0xDC00..=0xDFFF => return Some("a lone UTF-16 surrogate"),
            _ => {}
        }
    }
    None
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
