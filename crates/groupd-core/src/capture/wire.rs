//! The borrowed readers of the capture JSON: typed visitors over [`RawValue`]s that interpret only
//! the fields capture needs, so `properties` stays the exact text the client sent and nothing is
//! parsed into a `serde_json::Value` tree on the hot path.

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A map key, borrowed when it has no escapes.
pub(super) struct Key<'de>(pub(super) Cow<'de, str>);

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
        pub(super) struct $name<'a> {
            $(pub(super) $field: Option<&'a RawValue>,)*
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
pub(super) struct Envelope<'a> {
    pub(super) batch: Option<BatchField<'a>>,
    pub(super) api_key: Option<&'a RawValue>,
    pub(super) token: Option<&'a RawValue>,
    pub(super) sent_at: Option<&'a RawValue>,
    pub(super) sent_at_camel: Option<&'a RawValue>,
    pub(super) historical_migration: Option<&'a RawValue>,
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
pub(super) enum BatchField<'a> {
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
pub(super) fn present(v: Option<&RawValue>) -> Option<&RawValue> {
    v.filter(|v| v.get() != "null")
}

pub(super) fn as_string(v: &RawValue) -> Option<String> {
    if !v.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<String>(v.get()).ok()
}

pub(super) fn as_bool(v: Option<&RawValue>) -> Option<bool> {
    match v?.get() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A string as itself; anything else (but `null`) as its compact JSON text.
pub(super) fn stringify(v: &RawValue) -> Option<String> {
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

pub(super) fn non_empty_string(v: Option<&RawValue>) -> Option<String> {
    v.and_then(as_string).filter(|s| !s.is_empty())
}

/// What was read of one event in stage 1.
pub(super) struct Slot<'a> {
    pub(super) raw_len: usize,
    /// `None` when the event is not an object.
    pub(super) event: Option<EventIn<'a>>,
    pub(super) props: Props<'a>,
}

pub(super) enum Props<'a> {
    Absent,
    Object(&'a RawValue, PropsIn<'a>),
    NotObject,
}

impl<'a> Slot<'a> {
    pub(super) fn read(raw: &'a RawValue) -> Self {
        Self::read_str(raw.get())
    }

    pub(super) fn read_str(text: &'a str) -> Self {
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
    pub(super) fn token(&self) -> Option<String> {
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

/// `$groups` as ordered `(type, raw key)` pairs; fails for anything but an object.
pub(super) struct GroupsIn<'a>(pub(super) Vec<(String, &'a RawValue)>);

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
