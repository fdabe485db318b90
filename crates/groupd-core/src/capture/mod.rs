//! Capture as pure stages: decode the request payload, validate every event (all-or-nothing), and
//! plan what the store must write. No I/O here; the HTTP layer feeds bytes in and the store takes
//! the validated batch out.
//!
//! The stages, in order:
//! 1. [`decode`]: find the payload (query `data`, form field `data`, or the body) and undo gzip,
//!    base64 and LZString, bounded by [`CaptureLimits::max_decompressed_bytes`].
//! 2. [`parse_request`]: the JSON shapes and the token, so the caller can answer 401 for a token
//!    that is no project's before any event is validated.
//! 3. [`ParsedRequest::validate`]: every event, all-or-nothing, into a [`ValidatedBatch`].
//! 4. [`IngestPlan`]: run by the store inside its write, event after event: type indexes, which
//!    events are retries, the group changes to apply and the warnings to record.
//!
//! [`parse_batch`] runs stages 2 and 3 in one call.
//!
//! ```
//! use groupd_core::capture::{CaptureLimits, RawCapture, decode, is_beacon, parse_request};
//!
//! let body = br#"{"api_key": "phc_x", "batch": [{"event": "$pageview", "distinct_id": "u1",
//!     "properties": {"$groups": {"company": "acme"}}}]}"#;
//! let raw = RawCapture { query: Some("ip=0"), body, ..RawCapture::default() };
//! let limits = CaptureLimits::default();
//! let json = decode(&raw, &limits)?; // 400 / 413
//! let request = parse_request(&json, raw.engage)?; // 400 / 401 missing_api_key
//! assert_eq!(request.token(), "phc_x"); // the caller answers 401 invalid_api_key here
//! let received_at_us = 1_777_629_610_000_000;
//! let batch = request.validate(received_at_us, &limits)?; // 400 / 413, all-or-nothing
//! assert_eq!(batch.events[0].groups, [("company".to_owned(), "acme".to_owned())]);
//! assert!(!is_beacon(raw.query)); // beacon=1 → 204 instead of 200 {"status": 1}
//! # Ok::<(), groupd_core::capture::CaptureError>(())
//! ```

mod apply;
mod decode;
mod event;
mod lzstring;
mod parse;
#[cfg(test)]
mod tests;
mod time;
mod validate;
mod warning;
mod wire;

pub use apply::{EventRow, GroupUpdate, IngestPlan, IngestSummary};
pub use decode::{Compression, RawCapture, decode, is_beacon};
pub use event::{CaptureEvent, GroupIdentify, InvalidGroupIdentify, NO_TIMESTAMP, ValidatedBatch};
pub use parse::{ParsedRequest, parse_batch, parse_request};
pub use time::{MAX_FUTURE_US, merge_time_us, parse_time_us};
pub use validate::DISTINCT_ID_MAX_CHARS;
pub use warning::{
    GROUP_DELETED, GROUP_TYPE_LIMIT_REACHED, INVALID_GROUP_IDENTIFY, IngestWarning, WARNINGS_KEPT,
};

/// The detail of a request without events (an empty payload, batch or array).
pub const NO_EVENT: &str = "Request holds no event.";
/// The detail of 401 `missing_api_key`.
pub const MISSING_API_KEY_DETAIL: &str =
    "API key not provided. You can find your project API key in your project settings.";
/// The detail of 401 `invalid_api_key` (the caller decides that a token is no project's).
pub const INVALID_API_KEY_DETAIL: &str =
    "Project API key invalid. You can find your project API key in your project settings.";

/// Size limits of the decoding stages (each configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureLimits {
    /// Largest payload after decompression and decoding; beyond → 413. Default 100 MiB.
    pub max_decompressed_bytes: usize,
    /// Largest single event (its JSON text as sent); beyond → 413. Default 1 MB (1,000,000 bytes).
    pub max_event_bytes: usize,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 100 * 1024 * 1024,
            max_event_bytes: 1_000_000,
        }
    }
}

/// Why a capture request is refused. The `Display` text is the error body's `detail`; the HTTP
/// layer decides the status, `type`, `code` and `attr` of each variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// No token anywhere in the request.
    #[error("{MISSING_API_KEY_DETAIL}")]
    MissingApiKey,
    /// The token is no project's (decided by the caller, which has the projects; see
    /// [`ParsedRequest::token`]).
    #[error("{INVALID_API_KEY_DETAIL}")]
    InvalidApiKey,
    /// The payload cannot be decoded or an event breaks a rule; the detail sentence says which.
    #[error("{0}")]
    InvalidPayload(String),
    /// A `compression` hint capture does not know (the value as sent).
    #[error("Unsupported compression: '{0}'.")]
    UnsupportedCompression(String),
    /// The body, the decoded payload or one event is over its size limit; the detail names it.
    #[error("{0}")]
    PayloadTooLarge(String),
}

impl CaptureError {
    /// A request body over the HTTP layer's limit (20 MiB by default).
    pub fn body_too_large(limit_bytes: usize) -> Self {
        Self::PayloadTooLarge(format!(
            "Request body is larger than the {limit_bytes}-byte limit."
        ))
    }

    /// The error body's `detail`.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}
