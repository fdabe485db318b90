//! Tests of the capture stages: every decoding path and body shape, every error, the SDK fixtures,
//! and a bounded fuzz.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use flate2::Compression as GzLevel;
use flate2::write::GzEncoder;
use serde_json::json;
use std::io::Write;

const TOKEN: &str = "phc_test";
/// 2026-05-01T10:00:10Z
const RECEIVED: i64 = 1_777_629_610_000_000;

fn limits() -> CaptureLimits {
    CaptureLimits::default()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), GzLevel::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn raw(body: &[u8]) -> RawCapture<'_> {
    RawCapture {
        body,
        ..RawCapture::default()
    }
}

fn decode_ok(r: &RawCapture<'_>) -> Vec<u8> {
    decode(r, &limits()).unwrap().into_owned()
}

fn parse(json: &str) -> Result<ValidatedBatch, CaptureError> {
    parse_batch(json.as_bytes(), false, RECEIVED, &limits())
}

fn parse_v(v: serde_json::Value) -> Result<ValidatedBatch, CaptureError> {
    parse(&v.to_string())
}

fn one(ev: serde_json::Value) -> CaptureEvent {
    let mut b = parse_v(json!({"api_key": TOKEN, "batch": [ev]})).unwrap();
    assert_eq!(b.events.len(), 1);
    b.events.remove(0)
}

/// A refusal of the payload itself (the HTTP layer answers it 400 `invalid_payload`).
fn is_invalid_payload(e: &CaptureError) -> bool {
    matches!(
        e,
        CaptureError::InvalidPayload(_) | CaptureError::UnsupportedCompression(_)
    )
}

/// A refusal for size (the HTTP layer answers it 413).
fn is_too_large(e: &CaptureError) -> bool {
    matches!(e, CaptureError::PayloadTooLarge(_))
}

fn err(v: serde_json::Value) -> String {
    let e = parse_v(v).unwrap_err();
    assert!(is_invalid_payload(&e), "{e:?}");
    e.detail()
}

fn us(s: &str) -> i64 {
    parse_time_us(s).unwrap()
}

const BATCH: &str = r#"{"api_key":"phc_test","batch":[{"event":"e","distinct_id":"u"}]}"#;

// ------------------------------------------------------------------------------------------------
// Errors map to the contract

#[test]
fn errors_carry_the_contract_details() {
    // Status, type, code and attr are the HTTP layer's: see groupd-server's `http/error.rs`.
    assert_eq!(
        CaptureError::MissingApiKey.detail(),
        "API key not provided. You can find your project API key in your project settings."
    );
    assert_eq!(
        CaptureError::InvalidApiKey.detail(),
        "Project API key invalid. You can find your project API key in your project settings."
    );
    let e = CaptureError::body_too_large(20 << 20);
    assert!(is_too_large(&e), "{e:?}");
    assert_eq!(
        e.detail(),
        "Request body is larger than the 20971520-byte limit."
    );
    assert_eq!(CaptureError::InvalidPayload("x".into()).detail(), "x");
    assert_eq!(
        CaptureError::UnsupportedCompression("zstd".into()).detail(),
        "Unsupported compression: 'zstd'."
    );
}

// ------------------------------------------------------------------------------------------------
// Decoding: where the payload comes from

#[test]
fn plain_json_body_passes_through_without_a_copy() {
    let out = decode(&raw(BATCH.as_bytes()), &limits()).unwrap();
    assert!(matches!(out, std::borrow::Cow::Borrowed(_)));
    assert_eq!(out.as_ref(), BATCH.as_bytes());
}

#[test]
fn gzipped_form_body_is_unzipped_before_reading_fields() {
    let form = format!(
        "data={}&compression=base64",
        B64.encode(BATCH).replace('=', "%3D")
    );
    let gz = gzip(form.as_bytes());
    let r = RawCapture {
        content_type: Some("application/x-www-form-urlencoded"),
        content_encoding: Some("gzip"),
        body: &gz,
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), BATCH.as_bytes());
}

#[test]
fn data_query_parameter_wins_over_the_body() {
    let q = "ip=0&data=%7B%22a%22%3A1%7D&_=1";
    let r = RawCapture {
        query: Some(q),
        body: b"ignored",
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), br#"{"a":1}"#);
}

#[test]
fn empty_data_parameter_falls_back_to_the_body() {
    let r = RawCapture {
        query: Some("data="),
        body: BATCH.as_bytes(),
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), BATCH.as_bytes());
}

#[test]
fn empty_payload_is_refused() {
    for body in [&b""[..], b"  \n"] {
        let e = decode(&raw(body), &limits()).unwrap_err();
        assert_eq!(
            e,
            CaptureError::InvalidPayload("Request holds no event.".into())
        );
    }
    let form = RawCapture {
        content_type: Some("application/x-www-form-urlencoded"),
        body: b"compression=base64",
        ..RawCapture::default()
    };
    assert!(is_invalid_payload(&decode(&form, &limits()).unwrap_err()));
}

#[test]
fn form_body_data_field_is_the_payload() {
    let body = format!("x=1&data={}", "%7B%22a%22%3A%201%7D");
    let r = RawCapture {
        content_type: Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        body: body.as_bytes(),
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), br#"{"a": 1}"#);
}

#[test]
fn form_base64_reads_spaces_as_plus() {
    // "{\"a\":\"~~~\"}" encodes with '+' in it; the form turns a raw '+' into a space.
    let json = br#"{"a":"~~~>>>"}"#;
    let b64 = B64.encode(json);
    assert!(b64.contains('+'), "{b64}");
    // The raw '+' in a form body reads as a space, which base64 reads back as '+'.
    let body = format!("data={b64}&compression=base64");
    let r = RawCapture {
        content_type: Some("application/x-www-form-urlencoded"),
        body: body.as_bytes(),
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), json);
    // Percent-encoded '+' works too.
    let body = format!("data={}&compression=B64", b64.replace('+', "%2B"));
    let r = RawCapture {
        body: body.as_bytes(),
        ..r
    };
    assert_eq!(decode_ok(&r), json);
}

#[test]
fn form_compression_field_and_query_hint_both_count() {
    let json = br#"{"a":1}"#;
    let body = format!("data={}", B64.encode(json).replace('=', "%3D"));
    let r = RawCapture {
        query: Some("compression=base64"),
        content_type: Some("application/x-www-form-urlencoded"),
        body: body.as_bytes(),
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), json);
}

#[test]
fn is_beacon_reads_the_query() {
    assert!(is_beacon(Some("ip=0&beacon=1")));
    assert!(!is_beacon(Some("beacon=0")));
    assert!(!is_beacon(Some("ip=1")));
    assert!(!is_beacon(None));
}

// ------------------------------------------------------------------------------------------------
// Decoding: compression

#[test]
fn compression_hints_are_case_insensitive() {
    assert_eq!(Compression::parse("GZIP"), Some(Compression::Gzip));
    assert_eq!(Compression::parse("Gzip-JS"), Some(Compression::Gzip));
    assert_eq!(Compression::parse("base64"), Some(Compression::Base64));
    assert_eq!(Compression::parse("B64"), Some(Compression::Base64));
    assert_eq!(Compression::parse("LZ64"), Some(Compression::LzString));
    assert_eq!(Compression::parse("lz-string"), Some(Compression::LzString));
    assert_eq!(Compression::parse("br"), None);
}

#[test]
fn unknown_compression_hint_is_refused() {
    let r = RawCapture {
        query: Some("compression=zstd"),
        body: BATCH.as_bytes(),
        ..RawCapture::default()
    };
    let e = decode(&r, &limits()).unwrap_err();
    assert_eq!(e, CaptureError::UnsupportedCompression("zstd".into()));
    assert!(is_invalid_payload(&e));
}

#[test]
fn gzip_by_hint_by_header_and_by_magic_bytes() {
    let gz = gzip(BATCH.as_bytes());
    let by_hint = RawCapture {
        query: Some("compression=gzip-js"),
        body: &gz,
        ..RawCapture::default()
    };
    let by_header = RawCapture {
        content_encoding: Some("GZIP"),
        body: &gz,
        ..RawCapture::default()
    };
    let by_magic = RawCapture {
        content_type: Some("text/plain"),
        body: &gz,
        ..RawCapture::default()
    };
    for r in [by_hint, by_header, by_magic] {
        assert_eq!(decode_ok(&r), BATCH.as_bytes());
    }
}

#[test]
fn gzip_that_is_not_gzip_is_refused() {
    let r = RawCapture {
        content_encoding: Some("gzip"),
        body: BATCH.as_bytes(),
        ..RawCapture::default()
    };
    assert_eq!(
        decode(&r, &limits()).unwrap_err(),
        CaptureError::InvalidPayload("Payload is not valid gzip.".into())
    );
    let mut truncated = gzip(BATCH.as_bytes());
    truncated.truncate(truncated.len() / 2);
    assert!(is_invalid_payload(
        &decode(&raw(&truncated), &limits()).unwrap_err()
    ));
}

#[test]
fn gzip_bomb_is_413_not_oom() {
    let bomb = gzip(&vec![b'{'; 4 << 20]);
    assert!(bomb.len() < 10_000);
    let small = CaptureLimits {
        max_decompressed_bytes: 1 << 20,
        ..limits()
    };
    let e = decode(&raw(&bomb), &small).unwrap_err();
    assert!(is_too_large(&e), "{e:?}");
    assert_eq!(
        e.detail(),
        "Payload is larger than the 1048576-byte limit once decompressed."
    );
    // Exactly at the limit is fine.
    let exact = gzip(&vec![b'['; 1 << 20]);
    assert_eq!(decode(&raw(&exact), &small).unwrap().len(), 1 << 20);
}

#[test]
fn plain_payload_over_the_limit_is_413() {
    let small = CaptureLimits {
        max_decompressed_bytes: 10,
        ..limits()
    };
    assert!(is_too_large(
        &decode(&raw(BATCH.as_bytes()), &small).unwrap_err()
    ));
}

#[test]
fn base64_hint_decodes_and_refuses_garbage() {
    let b64 = B64.encode(BATCH);
    let r = RawCapture {
        query: Some("compression=base64"),
        body: b64.as_bytes(),
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), BATCH.as_bytes());
    // Unpadded and URL-safe forms are accepted when hinted.
    let unpadded = b64
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    let r2 = RawCapture {
        body: unpadded.as_bytes(),
        ..r
    };
    assert_eq!(decode_ok(&r2), BATCH.as_bytes());
    let bad = RawCapture {
        body: b"{not base64}",
        ..r
    };
    assert_eq!(
        decode(&bad, &limits()).unwrap_err(),
        CaptureError::InvalidPayload("Payload is not valid base64.".into())
    );
}

#[test]
fn unhinted_base64_is_decoded_once() {
    let once = B64.encode(BATCH);
    assert_eq!(decode_ok(&raw(once.as_bytes())), BATCH.as_bytes());
    let twice = B64.encode(&once);
    assert_eq!(decode_ok(&raw(twice.as_bytes())), once.as_bytes());
}

#[test]
fn unhinted_non_json_non_base64_is_left_alone() {
    assert_eq!(decode_ok(&raw(b"hello world!")), b"hello world!");
    // Not canonical base64 (length not a multiple of 4): left as is.
    assert_eq!(decode_ok(&raw(b"abcde")), b"abcde");
}

#[test]
fn gzip_then_base64_hint_order() {
    // (a) gunzip, then (b) the hint's decoding: base64 text that was gzipped.
    let gz = gzip(B64.encode(BATCH).as_bytes());
    let r = RawCapture {
        query: Some("compression=base64"),
        content_encoding: Some("gzip"),
        body: &gz,
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), BATCH.as_bytes());
}

#[test]
fn lz64_round_trips_with_lz_str() {
    let texts = [
        BATCH.to_owned(),
        r#"{"event":"é ü 漢字 😀","x":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#.to_owned(),
        "[".to_owned() + &"{\"a\":1},".repeat(500) + "{}]",
    ];
    for text in texts {
        let enc = lz_str::compress_to_base64(text.as_str());
        let r = RawCapture {
            query: Some("compression=lz64"),
            body: enc.as_bytes(),
            ..RawCapture::default()
        };
        assert_eq!(String::from_utf8(decode_ok(&r)).unwrap(), text);
        // As a form field, percent-encoded, with '+' arriving as a space.
        let form = format!(
            "data={}&compression=LZ-String",
            enc.replace('=', "%3D").replace('/', "%2F")
        );
        let r = RawCapture {
            content_type: Some("application/x-www-form-urlencoded"),
            body: form.as_bytes(),
            ..RawCapture::default()
        };
        assert_eq!(String::from_utf8(decode_ok(&r)).unwrap(), text);
    }
}

#[test]
fn lz64_with_triple_padding_decodes() {
    // Find an input whose encoding ends in "===" (LZString pads to a multiple of 4 with '=').
    let found = (0..200)
        .map(|n| format!("{{\"k\":\"{}\"}}", "x".repeat(n)))
        .map(|t| (lz_str::compress_to_base64(t.as_str()), t))
        .find(|(enc, _)| enc.ends_with("==="));
    let (enc, text) = found.expect("some length pads with ===");
    let r = RawCapture {
        query: Some("compression=lz64"),
        body: enc.as_bytes(),
        ..RawCapture::default()
    };
    assert_eq!(decode_ok(&r), text.as_bytes());
}

#[test]
fn lz64_bomb_is_413() {
    // A run is LZString's best case: output grows with the square of the input.
    let text = "a".repeat(300_000);
    let enc = lz_str::compress_to_base64(text.as_str());
    assert!(enc.len() < 3_000, "{}", enc.len());
    let r = RawCapture {
        query: Some("compression=lz64"),
        body: enc.as_bytes(),
        ..RawCapture::default()
    };
    let small = CaptureLimits {
        max_decompressed_bytes: 10_000,
        ..limits()
    };
    assert!(is_too_large(&decode(&r, &small).unwrap_err()));
    assert_eq!(decode_ok(&r).len(), 300_000);
}

#[test]
fn lz64_garbage_is_refused() {
    for body in [&b"!!!!"[..], b"AAAA", b"=", b"\xff\xfe"] {
        let r = RawCapture {
            query: Some("compression=lz64"),
            body,
            ..RawCapture::default()
        };
        let e = decode(&r, &limits()).unwrap_err();
        assert_eq!(
            e,
            CaptureError::InvalidPayload("Payload is not valid LZString.".into()),
            "{body:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Shapes and tokens

#[test]
fn batch_object_with_api_key_or_token() {
    let b = parse(BATCH).unwrap();
    assert_eq!(b.token, TOKEN);
    assert!(!b.historical_migration);
    assert_eq!(b.events[0].event, "e");
    let b = parse_v(json!({"token": "phc_t2", "historical_migration": true,
        "batch": [{"event": "e", "distinct_id": "u"}]}))
    .unwrap();
    assert_eq!(b.token, "phc_t2");
    assert!(b.historical_migration);
}

#[test]
fn batch_token_wins_over_event_tokens() {
    let b = parse_v(json!({"api_key": "phc_batch", "batch": [
        {"event": "e", "distinct_id": "u", "api_key": "phc_a"},
        {"event": "e", "distinct_id": "u", "properties": {"token": "phc_b"}}]}))
    .unwrap();
    assert_eq!(b.token, "phc_batch");
    assert_eq!(b.events.len(), 2);
}

#[test]
fn event_token_lookup_order() {
    let ev = |extra: serde_json::Value| {
        let mut e = json!({"event": "e", "distinct_id": "u",
            "properties": {"token": "phc_props"}});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        parse_v(e).unwrap().token
    };
    assert_eq!(
        ev(json!({"api_key": "phc_1", "token": "phc_2", "$token": "phc_3"})),
        "phc_1"
    );
    assert_eq!(ev(json!({"token": "phc_2", "$token": "phc_3"})), "phc_2");
    assert_eq!(ev(json!({"$token": "phc_3"})), "phc_3");
    assert_eq!(ev(json!({})), "phc_props");
    assert_eq!(ev(json!({"api_key": ""})), "phc_props");
}

#[test]
fn top_level_array_with_equal_tokens() {
    let b = parse_v(json!([
        {"event": "a", "distinct_id": "u", "api_key": TOKEN},
        {"event": "b", "distinct_id": "u", "properties": {"token": TOKEN}},
        {"event": "c", "distinct_id": "u"}
    ]))
    .unwrap();
    assert_eq!(b.token, TOKEN);
    let names: Vec<_> = b.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[test]
fn different_tokens_are_refused() {
    let detail = err(json!([
        {"event": "a", "distinct_id": "u", "api_key": "phc_1"},
        {"event": "b", "distinct_id": "u", "api_key": "phc_2"}
    ]));
    assert_eq!(detail, "Request holds events with different tokens.");
}

#[test]
fn no_token_is_401() {
    for v in [
        json!({"batch": [{"event": "a", "distinct_id": "u"}]}),
        json!([{"event": "a", "distinct_id": "u"}]),
        json!({"event": "a", "distinct_id": "u", "properties": {"token": 5}}),
    ] {
        assert_eq!(parse_v(v).unwrap_err(), CaptureError::MissingApiKey);
    }
}

#[test]
fn missing_token_comes_before_invalid_events() {
    assert_eq!(
        parse_v(json!([{"event": ""}])).unwrap_err(),
        CaptureError::MissingApiKey
    );
}

#[test]
fn parse_request_exposes_the_token_before_validation() {
    let p = parse_request(br#"{"api_key":"phc_x","batch":[{"event":"e"}]}"#, false).unwrap();
    assert_eq!(p.token(), "phc_x");
    assert_eq!(p.len(), 1);
    assert_eq!(
        p.validate(RECEIVED, &limits()).unwrap_err().detail(),
        "Event 0 of the batch has no distinct_id."
    );
}

#[test]
fn single_event_shape() {
    let b = parse_v(
        json!({"event": "$pageview", "distinct_id": "u1", "api_key": TOKEN,
        "properties": {"$current_url": "https://x.io"}}),
    )
    .unwrap();
    assert_eq!(b.token, TOKEN);
    assert_eq!(b.events.len(), 1);
    assert_eq!(b.events[0].event, "$pageview");
    assert_eq!(b.events[0].index, 0);
}

#[test]
fn engage_event_without_name_is_identify() {
    let body = br#"{"$token":"phc_test","$distinct_id":"u1","$set":{"a":1}}"#;
    let b = parse_batch(body, true, RECEIVED, &limits()).unwrap();
    assert_eq!(b.events[0].event, "$identify");
    assert_eq!(b.events[0].distinct_id, "u1");
    // The same body elsewhere lacks an event name.
    assert_eq!(
        parse_batch(body, false, RECEIVED, &limits())
            .unwrap_err()
            .detail(),
        "Event 0 of the batch has no event name."
    );
    // On /engage a given name is kept.
    let b = parse_batch(
        br#"{"event":"$set","$token":"phc_test","distinct_id":"u1"}"#,
        true,
        RECEIVED,
        &limits(),
    )
    .unwrap();
    assert_eq!(b.events[0].event, "$set");
}

#[test]
fn empty_requests_hold_no_event() {
    for v in [json!({"api_key": TOKEN, "batch": []}), json!([])] {
        assert_eq!(err(v), "Request holds no event.");
    }
}

#[test]
fn a_byte_order_mark_is_skipped() {
    assert_eq!(parse(&format!("\u{feff}{BATCH}")).unwrap().token, TOKEN);
}

#[test]
fn malformed_json_and_wrong_shapes_are_400() {
    let e = parse("{\"batch\": [").unwrap_err();
    assert!(is_invalid_payload(&e), "{e:?}");
    assert!(e.detail().starts_with("Payload is not valid JSON: "), "{e}");
    let e = parse(BATCH.trim_end_matches('}')).unwrap_err();
    assert!(e.detail().starts_with("Payload is not valid JSON"), "{e}");
    let e = parse(&format!("{BATCH} trailing")).unwrap_err();
    assert!(e.detail().starts_with("Payload is not valid JSON"), "{e}");
    let shape = "Payload must be an event, an array of events, or an object with a batch array.";
    assert_eq!(parse("42").unwrap_err().detail(), shape);
    assert_eq!(parse("\"x\"").unwrap_err().detail(), shape);
    assert_eq!(
        err(json!({"api_key": TOKEN, "batch": {"event": "e"}})),
        shape
    );
    let e = parse_batch(b"{\"a\":\"\xff\"}", false, RECEIVED, &limits()).unwrap_err();
    assert_eq!(e.detail(), "Payload is not valid UTF-8.");
}

// ------------------------------------------------------------------------------------------------
// Event validation

#[test]
fn spec_example_event_3_has_no_distinct_id() {
    let good = json!({"event": "e", "distinct_id": "u"});
    let detail = err(json!({"api_key": TOKEN, "batch": [good, good, good,
        {"event": "e"}, {"event": ""}]}));
    assert_eq!(detail, "Event 3 of the batch has no distinct_id.");
}

#[test]
fn first_bad_event_is_reported() {
    let detail = err(json!({"api_key": TOKEN, "batch": [
        {"event": "e", "distinct_id": "u"},
        {"event": "e", "distinct_id": "u", "uuid": "nope"},
        {"event": "e"}]}));
    assert_eq!(detail, "Event 1 of the batch has an invalid uuid.");
}

#[test]
fn event_name_rules() {
    let b = |ev: serde_json::Value| err(json!({"api_key": TOKEN, "batch": [ev]}));
    assert_eq!(
        b(json!({"distinct_id": "u"})),
        "Event 0 of the batch has no event name."
    );
    assert_eq!(
        b(json!({"event": "", "distinct_id": "u"})),
        "Event 0 of the batch has no event name."
    );
    assert_eq!(
        b(json!({"event": null, "distinct_id": "u"})),
        "Event 0 of the batch has no event name."
    );
    assert_eq!(
        b(json!({"event": 5, "distinct_id": "u"})),
        "Event 0 of the batch has an invalid event name."
    );
    assert_eq!(b(json!(7)), "Event 0 of the batch is not an object.");
}

#[test]
fn distinct_id_sources_and_forms() {
    let d = |ev: serde_json::Value| one(ev).distinct_id;
    assert_eq!(d(json!({"event": "e", "distinct_id": "a"})), "a");
    assert_eq!(d(json!({"event": "e", "$distinct_id": "b"})), "b");
    assert_eq!(
        d(json!({"event": "e", "properties": {"distinct_id": "c"}})),
        "c"
    );
    assert_eq!(
        d(json!({"event": "e", "distinct_id": null, "properties": {"distinct_id": "c"}})),
        "c"
    );
    assert_eq!(d(json!({"event": "e", "distinct_id": 42})), "42");
    assert_eq!(d(json!({"event": "e", "distinct_id": 1.5})), "1.5");
    assert_eq!(d(json!({"event": "e", "distinct_id": true})), "true");
    assert_eq!(
        parse(r#"{"api_key":"phc_test","batch":[{"event":"e","distinct_id": { "k" : [1, 2] }}]}"#)
            .unwrap()
            .events[0]
            .distinct_id,
        r#"{"k":[1,2]}"#
    );
    let long = "é".repeat(250);
    assert_eq!(
        d(json!({"event": "e", "distinct_id": long})),
        "é".repeat(200)
    );
    assert_eq!(
        err(json!({"api_key": TOKEN, "batch": [{"event": "e", "distinct_id": ""}]})),
        "Event 0 of the batch has no distinct_id."
    );
}

#[test]
fn uuid_given_invalid_or_made() {
    let given = "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee";
    assert_eq!(
        one(json!({"event": "e", "distinct_id": "u", "uuid": given}))
            .uuid
            .to_string(),
        given
    );
    let made = one(json!({"event": "e", "distinct_id": "u"})).uuid;
    assert_eq!(made.get_version_num(), 7);
    let made2 = one(json!({"event": "e", "distinct_id": "u", "uuid": null})).uuid;
    assert_ne!(made, made2);
    for bad in [json!("nope"), json!(""), json!(5), json!({})] {
        assert_eq!(
            err(
                json!({"api_key": TOKEN, "batch": [{"event": "e", "distinct_id": "u", "uuid": bad}]})
            ),
            "Event 0 of the batch has an invalid uuid."
        );
    }
}

#[test]
fn timestamp_forms_sdks_send() {
    assert_eq!(
        us("2026-11-28T02:23:28.902989+00:00"),
        us("2026-11-28T02:23:28.902989Z")
    );
    assert_eq!(
        us("2026-11-28T04:23:28.5+02:00"),
        us("2026-11-28T02:23:28.500Z")
    );
    assert_eq!(us("2026-11-28T02:23:28.902989123Z") % 1_000_000, 902_989);
    assert_eq!(us("2026-11-28 02:23:28"), us("2026-11-28T02:23:28Z"));
    assert_eq!(us("2026-11-28T02:23:28.1"), us("2026-11-28T02:23:28.100Z"));
    assert_eq!(parse_time_us("yesterday"), None);
    assert_eq!(parse_time_us("2026-13-28T02:23:28Z"), None);
    assert_eq!(parse_time_us("2026-11-28é02:23:28Z"), None);
}

#[test]
fn time_rules() {
    let ev = |extra: serde_json::Value, sent_at: Option<&str>| {
        let mut e = json!({"event": "e", "distinct_id": "u"});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        let mut body = json!({"api_key": TOKEN, "batch": [e]});
        if let Some(s) = sent_at {
            body["sent_at"] = json!(s);
        }
        parse_v(body).unwrap().events.remove(0)
    };
    // received 10:00:10; client clock 5 s behind the event → skew correction.
    let e = ev(
        json!({"timestamp": "2026-05-01T10:00:00Z"}),
        Some("2026-05-01T10:00:05Z"),
    );
    assert_eq!(e.timestamp_us, us("2026-05-01T10:00:05Z"));
    assert_eq!(e.client_timestamp.as_deref(), Some("2026-05-01T10:00:00Z"));
    assert_eq!(e.received_at_us, RECEIVED);
    // sentAt spelling.
    let b = parse_v(json!({"api_key": TOKEN, "sentAt": "2026-05-01T10:00:05Z",
        "batch": [{"event": "e", "distinct_id": "u", "timestamp": "2026-05-01T10:00:00Z"}]}))
    .unwrap();
    assert_eq!(b.events[0].timestamp_us, us("2026-05-01T10:00:05Z"));
    // $ignore_sent_at.
    let e = ev(
        json!({"timestamp": "2026-05-01T10:00:00Z", "properties": {"$ignore_sent_at": true}}),
        Some("2026-05-01T10:00:05Z"),
    );
    assert_eq!(e.timestamp_us, us("2026-05-01T10:00:00Z"));
    // Only a timestamp; an unparseable sent_at is ignored.
    let e = ev(json!({"timestamp": "2026-05-01T09:00:00Z"}), None);
    assert_eq!(e.timestamp_us, us("2026-05-01T09:00:00Z"));
    let e = ev(json!({"timestamp": "2026-05-01T09:00:00Z"}), Some("soon"));
    assert_eq!(e.timestamp_us, us("2026-05-01T09:00:00Z"));
    // Offset in ms.
    let e = ev(json!({"offset": 1500}), None);
    assert_eq!(e.timestamp_us, RECEIVED - 1_500_000);
    assert_eq!(e.client_timestamp, None);
    // Nothing: received_at.
    assert_eq!(ev(json!({}), None).timestamp_us, RECEIVED);
    // More than 23 h ahead → received_at; exactly 23 h is kept.
    let e = ev(json!({"timestamp": "2026-05-02T09:00:11Z"}), None);
    assert_eq!(e.timestamp_us, RECEIVED);
    let e = ev(json!({"timestamp": "2026-05-02T09:00:10Z"}), None);
    assert_eq!(e.timestamp_us, RECEIVED + MAX_FUTURE_US);
    assert_eq!(merge_time_us(&e), RECEIVED);
    let e = ev(json!({"offset": -100_000_000}), None);
    assert_eq!(e.timestamp_us, RECEIVED);
}

#[test]
fn invalid_timestamp_and_offset_are_400() {
    for ts in [json!("yesterday"), json!(1_777_629_610), json!("")] {
        assert_eq!(
            err(
                json!({"api_key": TOKEN, "batch": [{"event": "e", "distinct_id": "u", "timestamp": ts}]})
            ),
            "Event 0 of the batch has an invalid timestamp."
        );
    }
    assert_eq!(
        err(
            json!({"api_key": TOKEN, "batch": [{"event": "e", "distinct_id": "u", "offset": "x"}]})
        ),
        "Event 0 of the batch has an invalid offset."
    );
}

#[test]
fn merge_time_is_the_earlier_of_event_and_receipt() {
    let e = one(json!({"event": "e", "distinct_id": "u", "timestamp": "2026-05-01T09:00:00Z"}));
    assert_eq!(merge_time_us(&e), us("2026-05-01T09:00:00Z"));
    let e = one(json!({"event": "e", "distinct_id": "u", "timestamp": "2026-05-01T12:00:00Z"}));
    assert_eq!(e.timestamp_us, us("2026-05-01T12:00:00Z"));
    assert_eq!(merge_time_us(&e), RECEIVED);
}

#[test]
fn performance_events_are_dropped() {
    let b = parse_v(json!({"api_key": TOKEN, "batch": [
        {"event": "$performance_event"},
        {"event": "e", "distinct_id": "u"}]}))
    .unwrap();
    assert_eq!(b.events.len(), 1);
    assert_eq!(b.events[0].index, 1);
    let b = parse_v(json!([{"event": "$performance_event", "api_key": TOKEN}])).unwrap();
    assert!(b.events.is_empty());
    assert_eq!(b.token, TOKEN);
}

#[test]
fn event_over_the_size_limit_is_413() {
    let small = CaptureLimits {
        max_event_bytes: 100,
        ..limits()
    };
    let body = json!({"api_key": TOKEN, "batch": [
        {"event": "e", "distinct_id": "u"},
        {"event": "e", "distinct_id": "u", "properties": {"x": "y".repeat(100)}}]});
    let e = parse_batch(body.to_string().as_bytes(), false, RECEIVED, &small).unwrap_err();
    assert!(is_too_large(&e), "{e:?}");
    assert_eq!(
        e.detail(),
        "Event 1 of the batch is larger than the 100-byte limit."
    );
}

#[test]
fn properties_are_kept_verbatim() {
    let body = r#"{"api_key":"phc_test","batch":[{"event":"e","distinct_id":"u",
        "properties": {"b" : 1.50, "a":"\u00e9\n", "$groups": {"company": "acme"}} }]}"#;
    let b = parse(body).unwrap();
    assert_eq!(
        b.events[0].properties_json,
        r#"{"b" : 1.50, "a":"\u00e9\n", "$groups": {"company": "acme"}}"#
    );
    assert_eq!(
        one(json!({"event": "e", "distinct_id": "u"})).properties_json,
        "{}"
    );
    assert_eq!(
        one(json!({"event": "e", "distinct_id": "u", "properties": null})).properties_json,
        "{}"
    );
    assert_eq!(
        err(
            json!({"api_key": TOKEN, "batch": [{"event": "e", "distinct_id": "u", "properties": [1]}]})
        ),
        "Event 0 of the batch has properties that are not an object."
    );
}

#[test]
fn repeated_and_escaped_keys_read_like_a_json_object() {
    let b = parse(
        r#"{"api_key":"phc_test","batch":[{"event":"a","ev\u0065nt":"b","distinct_id":"u"}]}"#,
    )
    .unwrap();
    assert_eq!(b.events[0].event, "b");
}

#[test]
fn groups_from_properties() {
    let e = one(
        json!({"event": "e", "distinct_id": "u", "properties": {"$groups":
        {"company": "acme", "project": 42, "org": null, "team": {"a": 1}}}}),
    );
    assert_eq!(
        e.groups,
        vec![
            ("company".to_owned(), "acme".to_owned()),
            ("project".to_owned(), "42".to_owned()),
            ("team".to_owned(), r#"{"a":1}"#.to_owned()),
        ]
    );
    assert!(e.group_identify.is_none());
    for not_obj in [json!("acme"), json!(["a"]), json!(null)] {
        let e = one(json!({"event": "e", "distinct_id": "u", "properties": {"$groups": not_obj}}));
        assert!(e.groups.is_empty());
    }
    // A repeated type keeps its first position and last key.
    let b = parse(r#"{"api_key":"phc_test","batch":[{"event":"e","distinct_id":"u","properties":{"$groups":{"a":"1","b":"2","a":"3"}}}]}"#).unwrap();
    assert_eq!(
        b.events[0].groups,
        vec![("a".into(), "3".into()), ("b".into(), "2".into())]
    );
}

#[test]
fn group_identify_is_read() {
    let e = one(
        json!({"event": "$groupidentify", "distinct_id": "u", "properties": {
        "$group_type": "company", "$group_key": "acme",
        "$group_set": {"name": "Acme", "n": 11}, "$group_set_once": {"first": "x"},
        "$group_unset": ["old", 5, "gone"]}}),
    );
    let gi = e.group_identify.unwrap().unwrap();
    assert_eq!(gi.group_type, "company");
    assert_eq!(gi.group_key, "acme");
    assert_eq!(
        serde_json::Value::Object(gi.set),
        json!({"name": "Acme", "n": 11})
    );
    assert_eq!(
        serde_json::Value::Object(gi.set_once),
        json!({"first": "x"})
    );
    assert_eq!(gi.unset, ["old", "gone"]);

    let e = one(
        json!({"event": "$groupidentify", "distinct_id": "u", "properties": {
        "$group_type": "project", "$group_key": 7, "$group_unset": "one"}}),
    );
    let gi = e.group_identify.unwrap().unwrap();
    assert_eq!(gi.group_key, "7");
    assert!(gi.set.is_empty() && gi.set_once.is_empty());
    assert_eq!(gi.unset, ["one"]);
}

#[test]
fn invalid_group_identify_is_stored_with_a_reason() {
    let gi = |props: serde_json::Value| {
        one(json!({"event": "$groupidentify", "distinct_id": "u", "properties": props}))
            .group_identify
            .unwrap()
            .unwrap_err()
    };
    assert_eq!(
        gi(json!({"$group_key": "k"})).reason,
        "$group_type is missing or blank."
    );
    assert_eq!(
        gi(json!({"$group_type": " ", "$group_key": "k"})).reason,
        "$group_type is missing or blank."
    );
    let w = gi(json!({"$group_type": "company", "$group_key": ""}));
    assert_eq!(w.reason, "$group_key is missing or blank.");
    assert_eq!(w.group_type.as_deref(), Some("company"));
    assert_eq!(
        gi(json!({"$group_type": "company"})).reason,
        "$group_key is missing or blank."
    );
    let w = gi(json!({"$group_type": "company", "$group_key": "k".repeat(401)}));
    assert_eq!(w.reason, "$group_key is longer than 400 characters.");
    assert_eq!(w.group_key.as_ref().unwrap().len(), 400);
    let d = w.details(uuid::Uuid::nil());
    assert_eq!(d["reason"], w.reason);
    assert_eq!(d["group_type"], "company");
    assert_eq!(d["event_uuid"], uuid::Uuid::nil().to_string());
    assert_eq!(INVALID_GROUP_IDENTIFY, "invalid_group_identify");
    // 400 characters exactly is fine.
    let ok = one(
        json!({"event": "$groupidentify", "distinct_id": "u", "properties":
        {"$group_type": "company", "$group_key": "é".repeat(400)}}),
    );
    assert!(ok.group_identify.unwrap().is_ok());
}

#[test]
fn process_person_profile_false_skips_group_work() {
    let e = one(
        json!({"event": "$groupidentify", "distinct_id": "u", "properties": {
        "$process_person_profile": false, "$group_type": "company", "$group_key": "acme",
        "$groups": {"company": "acme"}}}),
    );
    assert!(!e.process_person_profile);
    assert!(e.groups.is_empty());
    assert!(e.group_identify.is_none());
    let e = one(json!({"event": "e", "distinct_id": "u", "properties": {
        "$process_person_profile": "false", "$groups": {"company": "acme"}}}));
    assert!(e.process_person_profile);
    assert_eq!(e.groups.len(), 1);
}

#[test]
fn nul_characters_never_reach_text_columns() {
    let e = one(json!({"event": "a\u{0}b", "distinct_id": "u\u{0}1",
        "properties": {"$groups": {"c\u{0}": "k\u{0}"}}}));
    assert_eq!(e.event, "a\u{fffd}b");
    assert_eq!(e.distinct_id, "u\u{fffd}1");
    assert_eq!(e.groups, vec![("c\u{fffd}".into(), "k\u{fffd}".into())]);
    let gi = |t: &str, k: &str| {
        one(json!({"event": "$groupidentify", "distinct_id": "u",
            "properties": {"$group_type": t, "$group_key": k}}))
        .group_identify
        .unwrap()
        .unwrap_err()
    };
    let w = gi("c\u{0}", "k");
    assert_eq!(w.reason, "$group_type contains a NUL character.");
    assert_eq!(w.group_type.as_deref(), Some("c\u{fffd}"));
    let w = gi("c", "k\u{0}");
    assert_eq!(w.reason, "$group_key contains a NUL character.");
    assert_eq!(w.group_key.as_deref(), Some("k\u{fffd}"));
}

#[test]
fn get_request_with_lz64_data_in_the_query() {
    let enc = lz_str::compress_to_base64(BATCH);
    let query = format!(
        "data={}&compression=lz64&ver=1.20.0",
        enc.replace('+', "%2B")
            .replace('=', "%3D")
            .replace('/', "%2F")
    );
    let r = RawCapture {
        query: Some(&query),
        ..RawCapture::default()
    };
    let b = parse_batch(&decode_ok(&r), false, RECEIVED, &limits()).unwrap();
    assert_eq!(b.token, TOKEN);
}

// ------------------------------------------------------------------------------------------------
// SDK fixtures: real requests, byte for byte

struct FixtureRequest {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl FixtureRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }

    fn decode_and_parse(&self) -> ValidatedBatch {
        let route = self.path.split('?').next().unwrap();
        let engage = route.trim_end_matches('/') == "/engage";
        let raw = RawCapture {
            query: self.query(),
            content_type: self.header("content-type"),
            content_encoding: self.header("content-encoding"),
            body: &self.body,
            engage,
        };
        let json = decode(&raw, &limits()).unwrap();
        parse_batch(&json, engage, RECEIVED, &limits()).unwrap()
    }
}

const FIXTURE_TOKEN: &str = "phc_fixtureToken0000000000000000000000000000";

fn fixture(name: &str) -> Option<Vec<FixtureRequest>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/sdk")
        .join(name);
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("note: SDK fixture {name} not found; skipping");
        return None;
    };
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                FixtureRequest {
                    path: v["path"].as_str().unwrap().to_owned(),
                    headers: v["headers"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                        .collect(),
                    body: B64.decode(v["body_base64"].as_str().unwrap()).unwrap(),
                }
            })
            .collect(),
    )
}

#[test]
fn posthog_python_fixture_decodes() {
    let Some(reqs) = fixture("posthog-python-7.91.1.jsonl") else {
        return;
    };
    assert_eq!(reqs.len(), 6);
    for (i, req) in reqs.iter().enumerate() {
        let b = req.decode_and_parse();
        assert_eq!(b.token, FIXTURE_TOKEN);
        assert!(!b.historical_migration);
        assert_eq!(b.events.len(), 1);
        let e = &b.events[0];
        assert_eq!(e.distinct_id, "user-1");
        assert_eq!(e.uuid.get_version_num(), 4);
        let ts = e.client_timestamp.as_deref().unwrap();
        assert!(ts.ends_with("+00:00"), "{ts}");
        // timestamp and sent_at are microseconds apart: skew correction keeps it near receipt.
        assert!((RECEIVED - e.timestamp_us).abs() < 1_000_000, "{i}");
        assert!(e.process_person_profile);
        match i % 3 {
            0 => {
                assert_eq!(e.event, "$groupidentify");
                let gi = e.group_identify.clone().unwrap().unwrap();
                assert_eq!(
                    (gi.group_type.as_str(), gi.group_key.as_str()),
                    ("company", "acme-inc")
                );
                assert_eq!(
                    serde_json::Value::Object(gi.set),
                    json!({"name": "Acme", "employees": 11, "tags": ["b2b", "eu"]})
                );
                assert!(
                    e.properties_json
                        .contains(r#""$group_set": {"name": "Acme""#)
                );
            }
            1 => {
                assert_eq!(e.event, "purchase");
                assert!(e.group_identify.is_none());
                assert_eq!(
                    e.groups,
                    vec![
                        ("company".to_owned(), "acme-inc".to_owned()),
                        ("project".to_owned(), "p1".to_owned())
                    ]
                );
                assert!(e.properties_json.starts_with(r#"{"amount": 5.5,"#));
            }
            _ => {
                assert_eq!(e.event, "$groupidentify");
                let gi = e.group_identify.clone().unwrap().unwrap();
                assert_eq!(
                    (gi.group_type.as_str(), gi.group_key.as_str()),
                    ("project", "p1")
                );
                assert!(gi.set.is_empty());
            }
        }
    }
}

#[test]
fn posthog_js_fixture_decodes_to_the_same_events() {
    let Some(reqs) = fixture("posthog-js-shaped.jsonl") else {
        return;
    };
    assert_eq!(reqs.len(), 3);
    let batches: Vec<ValidatedBatch> = reqs.iter().map(FixtureRequest::decode_and_parse).collect();
    assert_eq!(
        reqs.iter()
            .map(|r| is_beacon(r.query()))
            .collect::<Vec<_>>(),
        [false, true, false]
    );
    for b in &batches {
        assert_eq!(b.token, FIXTURE_TOKEN);
        assert_eq!(b.events.len(), 2);
        let gi = b.events[0].group_identify.clone().unwrap().unwrap();
        assert_eq!(b.events[0].event, "$groupidentify");
        assert_eq!(
            (gi.group_type.as_str(), gi.group_key.as_str()),
            ("company", "globex")
        );
        assert_eq!(
            serde_json::Value::Object(gi.set),
            json!({"name": "Globex", "plan": "enterprise"})
        );
        assert_eq!(b.events[1].event, "$pageview");
        assert_eq!(
            b.events[1].groups,
            vec![("company".to_owned(), "globex".to_owned())]
        );
        for e in &b.events {
            assert_eq!(e.distinct_id, "web-user-7");
        }
    }
    // Retries: same uuids, client timestamps and skew-corrected times in all three.
    let key = |b: &ValidatedBatch| {
        b.events
            .iter()
            .map(|e| {
                (
                    e.uuid,
                    e.client_timestamp.clone(),
                    e.timestamp_us,
                    e.properties_json.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&batches[0]), key(&batches[1]));
    assert_eq!(key(&batches[0]), key(&batches[2]));
    assert_eq!(
        batches[0].events[0].client_timestamp.as_deref(),
        Some("2026-11-18T10:00:00.001Z")
    );
}

// ------------------------------------------------------------------------------------------------
// Fuzz: nothing panics

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn header_choice() -> impl Strategy<
        Value = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
        ),
    > {
        (
            prop::sample::select(vec![
                None,
                Some("compression=gzip"),
                Some("compression=base64"),
                Some("compression=lz64"),
                Some("compression=zstd"),
                Some("data=eyJ9&compression=b64"),
                Some("data=%ZZ%&beacon=1"),
            ]),
            prop::sample::select(vec![
                None,
                Some("application/json"),
                Some("application/x-www-form-urlencoded"),
                Some("text/plain"),
            ]),
            prop::sample::select(vec![None, Some("gzip")]),
        )
    }

    fn run(query: Option<&str>, ct: Option<&str>, ce: Option<&str>, body: &[u8], engage: bool) {
        let limits = CaptureLimits {
            max_decompressed_bytes: 1 << 16,
            max_event_bytes: 1 << 12,
        };
        let r = RawCapture {
            query,
            content_type: ct,
            content_encoding: ce,
            body,
            engage,
        };
        if let Ok(json) = decode(&r, &limits) {
            let _ = parse_batch(&json, engage, RECEIVED, &limits);
        }
        let _ = parse_batch(body, engage, RECEIVED, &limits);
    }

    /// Fragments that make random input look like capture payloads.
    fn jsonish() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                "\"batch\"",
                "\"api_key\"",
                "\"phc_x\"",
                "\"event\"",
                "\"e\"",
                "\"distinct_id\"",
                "\"uuid\"",
                "\"timestamp\"",
                "\"2026-05-01T10:00:00Z\"",
                "\"offset\"",
                "1e400",
                "-9223372036854775808",
                "\"properties\"",
                "\"$groups\"",
                "\"$group_type\"",
                "\"$group_key\"",
                "\"$group_set\"",
                "\"$groupidentify\"",
                "\"$group_unset\"",
                "null",
                "true",
                "\"sent_at\"",
                "\"\\u0000\"",
                "\"\\ud800\"",
                "\"$performance_event\"",
                "\"$process_person_profile\"",
                "false",
                "0.5",
            ]),
            0..40,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(
            (q, ct, ce) in header_choice(),
            body in prop::collection::vec(any::<u8>(), 0..512),
            engage in any::<bool>(),
        ) {
            run(q, ct, ce, &body, engage);
            let gz = gzip(&body);
            run(q, ct, ce, &gz, engage);
        }

        #[test]
        fn random_jsonish_never_panics(text in jsonish(), engage in any::<bool>()) {
            run(None, None, None, text.as_bytes(), engage);
            let b64 = B64.encode(&text);
            run(Some("compression=base64"), None, None, b64.as_bytes(), engage);
            let lz = lz_str::compress_to_base64(text.as_str());
            run(Some("compression=lz64"), None, None, lz.as_bytes(), engage);
        }

        #[test]
        fn mutated_valid_batches_never_panic(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut body = br#"{"api_key":"phc_x","sent_at":"2026-05-01T10:00:05Z","batch":[{"event":"$groupidentify","distinct_id":"u","uuid":"0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee","timestamp":"2026-05-01T10:00:00Z","properties":{"$group_type":"c","$group_key":"k","$group_set":{"a":1},"$groups":{"c":"k"}}}]}"#.to_vec();
            for (i, b) in flips {
                let at = i.index(body.len());
                body[at] = b;
            }
            run(None, None, None, &body, false);
        }

        #[test]
        fn lz64_matches_the_reference_compressor(text in any::<String>()) {
            prop_assume!(!text.is_empty());
            let enc = lz_str::compress_to_base64(text.as_str());
            let r = RawCapture {
                query: Some("compression=lz64"),
                body: enc.as_bytes(),
                ..RawCapture::default()
            };
            let out = decode(&r, &limits()).unwrap();
            prop_assert_eq!(out.as_ref(), text.as_bytes());
        }

        #[test]
        fn random_lz64_never_panics(text in "[A-Za-z0-9+/= ]{0,200}") {
            run(Some("compression=lz64"), None, None, text.as_bytes(), false);
        }
    }
}

/// Rough per-event cost of the JSON stages; run with
/// `cargo test --release -p groupd-core capture::tests::bench_parse -- --ignored --nocapture`.
#[test]
#[ignore = "timing, not a check"]
fn bench_parse() {
    let ev = r#"{"properties": {"amount": 5.5, "$python_runtime": "CPython", "$python_version": "3.11.7", "$os": "Linux", "$os_version": "12", "$os_distro": "Debian GNU/Linux", "$groups": {"company": "acme-inc", "project": "p1"}, "$lib": "posthog-python", "$lib_version": "7.91.1", "$geoip_disable": true, "$is_server": true}, "timestamp": "2026-11-28T02:23:28.964723+00:00", "distinct_id": "user-1", "event": "purchase", "uuid": "8c992628-b892-4b0d-9e0a-2635c00617b5"}"#;
    let body = format!(
        r#"{{"batch": [{}], "historical_migration": false, "sent_at": "2026-11-28T02:23:28.964893+00:00", "api_key": "phc_x"}}"#,
        vec![ev; 100].join(", ")
    );
    let rounds = 2000;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let b = parse_batch(body.as_bytes(), false, RECEIVED, &limits()).unwrap();
        assert_eq!(b.events.len(), 100);
    }
    let per_event = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds * 100);
    eprintln!("parse_batch: {per_event:.2} µs per event");
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        let v: serde::de::IgnoredAny = serde_json::from_str(&body).unwrap();
        std::hint::black_box(v);
    }
    let scan = t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds * 100);
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        std::hint::black_box(v);
    }
    let value = t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds * 100);
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        let p = parse_request(body.as_bytes(), false).unwrap();
        std::hint::black_box(p);
    }
    let stage1 = t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds * 100);
    eprintln!("one scan {scan:.2} µs, Value {value:.2} µs, parse_request {stage1:.2} µs per event");
}
