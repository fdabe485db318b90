//! SDK fixtures: real requests, byte for byte.
use super::*;

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
