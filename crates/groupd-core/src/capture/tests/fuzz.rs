//! Fuzz: nothing panics; and a rough timing of the JSON stages.
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

/// Rough per-event cost of the JSON stages; run with
/// `cargo test --release -p groupd-core capture::tests::fuzz::bench_parse -- --ignored --nocapture`.
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
