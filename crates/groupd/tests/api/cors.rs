//! CORS on the REST API: only the origins of `--cors-origins` are allowed, preflights are
//! answered (never 405), and without the flag no origin is.
use crate::helpers::*;

const ALLOWED: &str = "https://app.example.com";

fn preflight(app: &TestApp, origin: &str) -> reqwest::blocking::Response {
    app.request("OPTIONS", &app.purl("/groups/"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .unwrap()
}

fn allow_origin(r: &reqwest::blocking::Response) -> Option<String> {
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn a_listed_origin_may_call_the_rest_api_from_a_browser() {
    let app = TestApp::spawn_with(&[
        "--cors-origins",
        "https://other.example,https://app.example.com",
    ]);
    let r = preflight(&app, ALLOWED);
    assert_eq!(r.status(), 200);
    assert_eq!(allow_origin(&r).as_deref(), Some(ALLOWED));
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("authorization"), "{headers}");

    let r = app
        .request("GET", &app.purl("/groups/?group_type_index=0"))
        .header("origin", ALLOWED)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(allow_origin(&r).as_deref(), Some(ALLOWED));

    let r = preflight(&app, "https://evil.example");
    assert_eq!(allow_origin(&r), None, "an unlisted origin is not allowed");
}

#[test]
fn without_the_flag_no_origin_is_allowed_and_plain_options_is_405() {
    let app = TestApp::spawn();
    let r = preflight(&app, ALLOWED);
    assert_ne!(r.status(), 405, "a preflight is answered");
    assert_eq!(allow_origin(&r), None);
    assert_method_not_allowed(&app.call("OPTIONS", &app.purl("/groups/")), "OPTIONS");
}
