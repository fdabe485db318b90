//! Bounded fuzzing of every REST parameter and body over real HTTP: whatever the values, the answer
//! is never a 5xx, and the seeded data is intact afterwards. A committed corpus of inputs that once
//! broke groupd runs first, then generated ones (a fixed number of cases, so CI time is bounded).
use proptest::prelude::*;
use serde_json::json;

use crate::helpers::*;

/// Inputs that answered 500 or mangled data before they were fixed (operations.md, "Bad text").
const CORPUS: &[&str] = &[
    "%00",
    "ac%00me",
    "acme%00%00%00",
    "%ED%B0%80",
    "%F0%9F%98%80",
    "9999-12-31T23:59:59Z",
    "0000-01-01",
    "1e20",
    "-1",
    "99999999999999999999",
    "NaN",
    "%27%20OR%201%3D1--",
    "%5B%5D",
    "%7B%7D",
    "%",
    "%zz",
    "",
];

/// Every GET route with query parameters, `{}` standing for the fuzzed value.
const ROUTES: &[&str] = &[
    "/groups/?group_type_index={}",
    "/groups/?group_type_index=0&search={}",
    "/groups/?group_type_index=0&group_key={}",
    "/groups/?group_type_index=0&cursor={}",
    "/groups/?group_type_index=0&limit={}",
    "/groups/find?group_type_index=0&group_key={}",
    "/groups/find?group_type_index={}&group_key=acme",
    "/groups/activity?group_type_index=0&group_key={}",
    "/groups/property_definitions?group_type_index={}",
    "/groups/property_values?group_type_index=0&key={}",
    "/groups/property_values?group_type_index=0&key=name&value={}",
    "/groups/related?group_type_index=0&id={}",
    "/groups/related?group_type_index={}&id=acme",
    "/property_definitions/?type=group&group_type_index={}",
    "/groups_types/{}/metrics/",
    "/ingestion_warnings?limit={}",
];

fn seeded() -> TestApp {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"name": "Acme", "seats": 12}));
    app
}

fn assert_no_5xx(app: &TestApp, value: &str) {
    for route in ROUTES {
        let path = route.replace("{}", value);
        let (status, body) = app.get(&app.purl(&path));
        assert!(status < 500, "{path} answered {status}: {body}");
    }
    for body in [
        json!({"group_type_index": 0, "group_key": value}),
        json!({"group_type_index": value, "group_key": "k"}),
        json!({"group_type_index": 0, "group_key": "k",
               "group_properties": serde_json::Map::from_iter([(value.to_owned(), json!(value))])}),
    ] {
        let (status, got) = app.create_group(&body);
        assert!(status < 500, "create {body} answered {status}: {got}");
    }
    let (status, got) = app.update_property(
        &format!("group_type_index=0&group_key={value}"),
        &json!({"key": value, "value": value}),
    );
    assert!(
        status < 500,
        "update_property {value:?} answered {status}: {got}"
    );
}

fn assert_intact(app: &TestApp) {
    let (status, g) = app.find(0, "acme");
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["group_properties"]["name"], "Acme");
}

#[test]
fn the_corpus_never_answers_5xx() {
    let app = seeded();
    for value in CORPUS {
        assert_no_5xx(&app, value);
    }
    assert_intact(&app);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random bytes, percent-encoded, in every parameter.
    #[test]
    fn random_parameters_never_answer_5xx(raw in proptest::collection::vec(any::<u8>(), 0..24)) {
        thread_local! { static APP: TestApp = seeded(); }
        let value: String = raw.iter().map(|b| format!("%{b:02X}")).collect();
        APP.with(|app| {
            assert_no_5xx(app, &value);
            assert_intact(app);
        });
    }
}
