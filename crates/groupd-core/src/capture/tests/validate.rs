//! Event validation.
use super::*;

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
    assert!(is_too_large(&e));
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
fn nul_characters_and_lone_surrogates_are_400_naming_the_field() {
    let b = |ev: serde_json::Value| err(json!({"api_key": TOKEN, "batch": [ev]}));
    assert_eq!(
        b(json!({"event": "a\u{0}b", "distinct_id": "u"})),
        "Event 0 of the batch has a NUL character in event."
    );
    assert_eq!(
        b(json!({"event": "e", "distinct_id": "u\u{0}1"})),
        "Event 0 of the batch has a NUL character in distinct_id."
    );
    assert_eq!(
        b(json!({"event": "e", "distinct_id": "u", "properties": {"$groups": {"c": "k\u{0}"}}})),
        "Event 0 of the batch has a NUL character in properties."
    );
    let text = |t: &str| {
        let e = parse(&format!(r#"{{"api_key": "{TOKEN}", "batch": [{t}]}}"#)).unwrap_err();
        assert!(is_invalid_payload(&e), "{e:?}");
        e.detail()
    };
    assert_eq!(
        text(
            r#"{"event": "$groupidentify", "distinct_id": "u", "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "\udc00"}}}"#
        ),
        "Event 0 of the batch has a lone UTF-16 surrogate in properties."
    );
    assert_eq!(
        text(r#"{"event": "e", "distinct_id": "\ud800x"}"#),
        "Event 0 of the batch has a lone UTF-16 surrogate in distinct_id."
    );
    // A pair is one character; escaped backslashes are no escapes.
    let e = parse(&format!(
        r#"{{"api_key": "{TOKEN}", "batch": [{{"event": "e", "distinct_id": "u", "properties": {{"p": "\ud83d\ude00 \\u0000 \\\\"}}}}]}}"#
    ))
    .unwrap();
    assert_eq!(e.events.len(), 1);
}

#[test]
fn bad_text_finds_only_what_no_backend_stores() {
    use crate::capture::validate::bad_text;
    assert_eq!(bad_text(r#""a\u0000""#), Some("a NUL character"));
    assert_eq!(bad_text(r#""\udfff""#), Some("a lone UTF-16 surrogate"));
    assert_eq!(
        bad_text(r#""\ud800\u0041""#),
        Some("a lone UTF-16 surrogate")
    );
    assert_eq!(bad_text(r#""\ud800""#), Some("a lone UTF-16 surrogate"));
    assert_eq!(bad_text(r#""\uD83D\uDE00""#), None);
    assert_eq!(bad_text(r#""\\u0000""#), None);
    assert_eq!(bad_text(r#""\\\u0000""#), Some("a NUL character"));
    assert_eq!(bad_text(r#""plain \" text""#), None);
}

#[test]
fn times_outside_the_years_0001_to_9999_are_400() {
    let b = |ev: serde_json::Value| err(json!({"api_key": TOKEN, "batch": [ev]}));
    let outside = "Event 0 of the batch has a time outside the years 0001–9999.";
    assert_eq!(
        b(json!({"event": "e", "distinct_id": "u", "offset": 1e20})),
        outside
    );
    // A time far in the future is received_at (the 23 h rule), never out of range.
    let e = one(json!({"event": "e", "distinct_id": "u", "offset": -1e20}));
    assert_eq!(e.timestamp_us, RECEIVED);
    let skewed = err(json!({"api_key": TOKEN, "sent_at": "9999-12-31T23:59:59Z",
        "batch": [{"event": "e", "distinct_id": "u", "timestamp": "0001-01-01T00:00:00Z"}]}));
    assert_eq!(skewed, outside);
    // The edges themselves are fine.
    let e = one(json!({"event": "e", "distinct_id": "u", "timestamp": "0001-01-01T00:00:00Z"}));
    assert_eq!(e.timestamp_us, -62_135_596_800_000_000);
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
