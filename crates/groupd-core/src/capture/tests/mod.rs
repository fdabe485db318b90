//! Tests of the capture stages: every decoding path and body shape, every error, the SDK fixtures,
//! and a bounded fuzz. Shared helpers here; one file per stage.

mod decode;
mod errors;
mod fixtures;
mod fuzz;
mod plan;
mod shapes;
mod validate;

pub(super) use super::*;
pub(super) use base64::Engine;
pub(super) use base64::engine::general_purpose::STANDARD as B64;
pub(super) use flate2::Compression as GzLevel;
pub(super) use flate2::write::GzEncoder;
pub(super) use serde_json::json;
pub(super) use std::io::Write;

pub(super) const TOKEN: &str = "phc_test";
/// 2026-05-01T10:00:10Z
pub(super) const RECEIVED: i64 = 1_777_629_610_000_000;

pub(super) fn limits() -> CaptureLimits {
    CaptureLimits::default()
}

pub(super) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), GzLevel::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub(super) fn raw(body: &[u8]) -> RawCapture<'_> {
    RawCapture {
        body,
        ..RawCapture::default()
    }
}

pub(super) fn decode_ok(r: &RawCapture<'_>) -> Vec<u8> {
    decode(r, &limits()).unwrap().into_owned()
}

pub(super) fn parse(json: &str) -> Result<ValidatedBatch, CaptureError> {
    parse_batch(json.as_bytes(), false, RECEIVED, &limits())
}

pub(super) fn parse_v(v: serde_json::Value) -> Result<ValidatedBatch, CaptureError> {
    parse(&v.to_string())
}

pub(super) fn one(ev: serde_json::Value) -> CaptureEvent {
    let mut b = parse_v(json!({"api_key": TOKEN, "batch": [ev]})).unwrap();
    assert_eq!(b.events.len(), 1);
    b.events.remove(0)
}

pub(super) fn err(v: serde_json::Value) -> String {
    let e = parse_v(v).unwrap_err();
    assert!(is_invalid_payload(&e), "{e:?}");
    e.detail()
}

/// A refusal of the payload itself (the HTTP layer answers it 400 `invalid_payload`).
pub(super) fn is_invalid_payload(e: &CaptureError) -> bool {
    matches!(
        e,
        CaptureError::InvalidPayload(_) | CaptureError::UnsupportedCompression(_)
    )
}

/// A refusal for size (the HTTP layer answers it 413).
pub(super) fn is_too_large(e: &CaptureError) -> bool {
    matches!(e, CaptureError::PayloadTooLarge(_))
}

pub(super) fn us(s: &str) -> i64 {
    parse_time_us(s).unwrap()
}

pub(super) const BATCH: &str =
    r#"{"api_key":"phc_test","batch":[{"event":"e","distinct_id":"u"}]}"#;
