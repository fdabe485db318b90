//! Reading the JSON shapes and finding the token: a request is a batch object, an array of
//! events, or a single event. The token is found before any event is validated, so the caller can
//! answer 401 for a token that is no project's before a 400 for a bad event.

use super::time::parse_time_us;
use super::wire::{BatchField, Envelope, Slot, as_bool, as_string, non_empty_string, present};
use super::{CaptureError, CaptureLimits, NO_EVENT, ValidatedBatch};
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use std::fmt;

/// A request read as one of the accepted shapes, with its token found but its events not yet
/// validated ([`ParsedRequest::validate`]). Lets the caller check the token (401) before event
/// validation (400): an unknown token is refused whatever the events hold.
pub struct ParsedRequest<'a> {
    pub(super) token: String,
    pub(super) historical_migration: bool,
    pub(super) sent_at_us: Option<i64>,
    pub(super) engage: bool,
    pub(super) slots: Vec<Slot<'a>>,
}

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
}

impl fmt::Debug for ParsedRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedRequest")
            .field("token", &"..")
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
