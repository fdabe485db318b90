//! Decoding: where the payload comes from, and its compression.
use super::*;

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
    assert!(is_too_large(&e));
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
