//! Decoding the payload: find it (query `data`, form field `data`, or the body), then undo gzip,
//! base64 and LZString as hinted or detected, never producing more than
//! [`CaptureLimits::max_decompressed_bytes`].

use super::lzstring::{self, LzError};
use super::{CaptureError, CaptureLimits, NO_EVENT};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use std::borrow::Cow;
use std::io::Read;

/// One capture request as the HTTP layer received it (the body already read, up to its limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCapture<'a> {
    /// The raw query string, without the leading `?` (percent-encoded as sent).
    pub query: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `Content-Encoding` header.
    pub content_encoding: Option<&'a str>,
    /// The request body.
    pub body: &'a [u8],
    /// The route is `/engage`: an event without `event` is taken as `$identify`.
    pub engage: bool,
}

/// A `compression` hint (query parameter or form field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `gzip`, `gzip-js`.
    Gzip,
    /// `base64`, `b64`.
    Base64,
    /// `lz64`, `lz-string`: LZString from its own base64.
    LzString,
}

impl Compression {
    /// Parses a hint, case-insensitively. `None` for a value groupd does not know.
    pub fn parse(hint: &str) -> Option<Self> {
        let hint = hint.trim();
        [
            ("gzip", Self::Gzip),
            ("gzip-js", Self::Gzip),
            ("base64", Self::Base64),
            ("b64", Self::Base64),
            ("lz64", Self::LzString),
            ("lz-string", Self::LzString),
        ]
        .into_iter()
        .find(|(name, _)| hint.eq_ignore_ascii_case(name))
        .map(|(_, c)| c)
    }
}

/// Whether the query asks for the `sendBeacon` answer (204, no body): `beacon=1` (or `true`).
pub fn is_beacon(query: Option<&str>) -> bool {
    query
        .and_then(|q| form_value(q.as_bytes(), "beacon"))
        .is_some_and(|v| *v == *b"1" || v.eq_ignore_ascii_case(b"true"))
}

/// Stage 1: returns the payload bytes, which [`super::parse_request`] reads as JSON.
///
/// Errors: 400 for an empty payload, an unknown `compression` hint, or data that does not decode
/// as hinted; 413 when the decoded payload would exceed `limits.max_decompressed_bytes` (gzip and
/// LZString are inflated through a bounded reader, so a bomb costs at most the limit).
pub fn decode<'a>(
    raw: &RawCapture<'a>,
    limits: &CaptureLimits,
) -> Result<Cow<'a, [u8]>, CaptureError> {
    let query = raw.query.unwrap_or("").as_bytes();
    let is_form = raw.content_type.is_some_and(is_form_content_type);
    let content_gzip = raw.content_encoding.is_some_and(|e| {
        let e = e.trim();
        e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip")
    });

    // Step 1 and 2: where the payload and the hint come from.
    let query_data = form_value(query, "data").filter(|d| !d.is_empty());
    let mut hint_text = form_value(query, "compression").filter(|h| !h.is_empty());
    // Form and query values arrive with a base64 '+' turned into a space.
    let from_form = is_form || query_data.is_some();
    // A form body that is itself gzipped (Content-Encoding on the form) is unzipped first: no
    // form field could be found in it otherwise.
    let form_gzipped = is_form && raw.body.starts_with(&GZIP_MAGIC);
    let payload: Cow<'a, [u8]> = if is_form {
        let (form_hint, form_data) = if form_gzipped {
            let unzipped = gunzip(raw.body, limits.max_decompressed_bytes)?;
            let own = |c: Cow<'_, [u8]>| Cow::Owned(c.into_owned());
            (
                form_value(&unzipped, "compression").map(own),
                form_value(&unzipped, "data").map(own),
            )
        } else {
            (
                form_value(raw.body, "compression"),
                form_value(raw.body, "data"),
            )
        };
        if hint_text.is_none() {
            hint_text = form_hint.filter(|h| !h.is_empty());
        }
        query_data.or(form_data).unwrap_or_default()
    } else {
        query_data.unwrap_or(Cow::Borrowed(raw.body))
    };
    let hint = match &hint_text {
        None => None,
        Some(h) => Some(
            Compression::parse(&String::from_utf8_lossy(h))
                .ok_or_else(|| CaptureError::UnsupportedCompression(lossy_short(h)))?,
        ),
    };
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Err(CaptureError::InvalidPayload(NO_EVENT.to_owned()));
    }

    // Step 3a: gzip (Content-Encoding already undone for a gzipped form).
    let mut data = payload;
    if hint == Some(Compression::Gzip)
        || (content_gzip && !form_gzipped)
        || data.starts_with(&GZIP_MAGIC)
    {
        data = Cow::Owned(gunzip(&data, limits.max_decompressed_bytes)?);
    }

    // Step 3b: the hint's own decoding.
    match hint {
        Some(Compression::Base64) => {
            data = Cow::Owned(decode_base64_lenient(&data).ok_or_else(|| {
                CaptureError::InvalidPayload("Payload is not valid base64.".to_owned())
            })?);
        }
        Some(Compression::LzString) => {
            data = Cow::Owned(decode_lz64(&data, limits.max_decompressed_bytes)?);
        }
        Some(Compression::Gzip) | None => {}
    }

    // Step 3c: an unhinted payload that is not JSON but is strict base64 is decoded once.
    if hint.is_none()
        && !looks_like_json(&data)
        && let Some(decoded) = decode_base64_strict(&data, from_form)
    {
        data = Cow::Owned(decoded);
    }

    if data.len() > limits.max_decompressed_bytes {
        return Err(too_large(limits));
    }
    Ok(data)
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn too_large(limits: &CaptureLimits) -> CaptureError {
    CaptureError::PayloadTooLarge(format!(
        "Payload is larger than the {}-byte limit once decompressed.",
        limits.max_decompressed_bytes
    ))
}

/// The hint as sent, for the error detail, cut to a readable length.
fn lossy_short(h: &[u8]) -> String {
    String::from_utf8_lossy(h).chars().take(50).collect()
}

fn is_form_content_type(ct: &str) -> bool {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// The first value of `name` in an `application/x-www-form-urlencoded` string (query or body),
/// percent-decoded with `+` read as a space.
fn form_value<'a>(input: &'a [u8], name: &str) -> Option<Cow<'a, [u8]>> {
    input
        .split(|&b| b == b'&')
        .find_map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[..0]),
            };
            (percent_decode(k).as_ref() == name.as_bytes()).then_some(v)
        })
        .map(percent_decode)
}

/// Percent-decoding as browsers and `urlencode` do it (`+` is a space; a `%` not followed by two
/// hex digits stays), by the `percent-encoding` crate the server uses too.
fn percent_decode(s: &[u8]) -> Cow<'_, [u8]> {
    if !s.contains(&b'+') {
        return percent_encoding::percent_decode(s).into();
    }
    let spaced: Vec<u8> = s
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    Cow::Owned(percent_encoding::percent_decode(&spaced).collect())
}

fn gunzip(data: &[u8], max: usize) -> Result<Vec<u8>, CaptureError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| CaptureError::InvalidPayload("Payload is not valid gzip.".to_owned()))?;
    if out.len() > max {
        return Err(CaptureError::PayloadTooLarge(format!(
            "Payload is larger than the {max}-byte limit once decompressed."
        )));
    }
    Ok(out)
}

/// In form data a `+` of base64 arrives as a space; line breaks are tolerated.
fn base64_text(data: &[u8]) -> Cow<'_, [u8]> {
    if !data
        .iter()
        .any(|&b| matches!(b, b' ' | b'\r' | b'\n' | b'\t'))
    {
        return Cow::Borrowed(data);
    }
    Cow::Owned(
        data.iter()
            .filter(|&&b| !matches!(b, b'\r' | b'\n' | b'\t'))
            .map(|&b| if b == b' ' { b'+' } else { b })
            .collect(),
    )
}

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Base64 as hinted: standard or URL-safe alphabet, padding optional.
fn decode_base64_lenient(data: &[u8]) -> Option<Vec<u8>> {
    let text = base64_text(data);
    let text = text.trim_ascii();
    LENIENT
        .decode(text)
        .or_else(|_| LENIENT_URL.decode(text))
        .ok()
}

/// Base64 without a hint: only the standard alphabet with canonical padding (spaces read as `+`
/// only in form or query data).
fn decode_base64_strict(data: &[u8], from_form: bool) -> Option<Vec<u8>> {
    let text = if from_form {
        base64_text(data)
    } else {
        Cow::Borrowed(data)
    };
    let text = text.trim_ascii();
    if text.is_empty() || text.len() % 4 != 0 {
        return None;
    }
    STANDARD.decode(text).ok()
}

/// Whether the bytes start (after whitespace) like one of the JSON shapes step 4 accepts.
fn looks_like_json(data: &[u8]) -> bool {
    matches!(data.trim_ascii_start().first(), Some(b'{' | b'['))
}

fn decode_lz64(data: &[u8], max: usize) -> Result<Vec<u8>, CaptureError> {
    let text = data.trim_ascii();
    // Each UTF-16 unit becomes at least one UTF-8 byte, so this bound is never too tight.
    let units = lzstring::decompress_from_base64(text, max).map_err(|e| match e {
        LzError::Invalid => {
            CaptureError::InvalidPayload("Payload is not valid LZString.".to_owned())
        }
        LzError::TooLarge => CaptureError::PayloadTooLarge(format!(
            "Payload is larger than the {max}-byte limit once decompressed."
        )),
    })?;
    Ok(String::from_utf16_lossy(&units).into_bytes())
}
