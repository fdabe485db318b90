//! Shapes and tokens.
use super::*;

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
    assert!(is_invalid_payload(&e));
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
