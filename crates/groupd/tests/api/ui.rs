//! The web UI over plain HTTP (`ui.md`): sessions, cookie flags, CSRF, scopes, sign-out and
//! revocation, `--no-ui`. The browser flows are in the `ui` test target.
use reqwest::{
    blocking::{Client, Response},
    redirect::Policy,
};
use serde_json::json;

use crate::helpers::{T0_US, TestApp};

/// A browser-like client of the UI: no redirects followed, the session cookie kept by hand.
struct Browser {
    client: Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        Self {
            client: Client::builder().redirect(Policy::none()).build().unwrap(),
            base: app.base.clone(),
            cookie: None,
        }
    }

    /// Signs in with `key`; the Set-Cookie header.
    fn sign_in(&mut self, key: &str) -> String {
        let r = self
            .client
            .post(format!("{}/ui/login", self.base))
            .form(&[("personal_api_key", key)])
            .send()
            .unwrap();
        assert_eq!(r.status(), 303, "a good key signs in");
        let set = r
            .headers()
            .get("set-cookie")
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .to_owned();
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
        set
    }

    fn get(&self, path: &str) -> Response {
        let mut r = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        r.send().unwrap()
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut r = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        r.send().unwrap()
    }

    /// The page's CSRF token (every changing form carries it).
    fn csrf(&self, path: &str) -> String {
        let html = self.get(path).text().unwrap();
        const FIELD: &str = "name=\"csrf_token\" value=\"";
        let at = html.find(FIELD).expect("a csrf_token field");
        let rest = &html[at + FIELD.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

fn is_sign_in_redirect(r: &Response) -> bool {
    r.status() == 303
        && r.headers().get("location").and_then(|l| l.to_str().ok()) == Some("/ui/login")
}

#[test]
fn ui_sign_in_sets_an_http_only_strict_cookie_and_keeps_the_key_off_the_page() {
    let app = TestApp::spawn();
    let mut b = Browser::new(&app);
    assert!(is_sign_in_redirect(&b.get("/")), "signed out: to the form");
    let set = b.sign_in(&app.key);
    let value = set.split(';').next().unwrap().split_once('=').unwrap().1;
    assert!(value.len() >= 22, "at least 128 bits of base62: {value}");
    assert!(!value.contains(&app.key) && !set.contains("phx_"));
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let home = b.get("/");
    assert_eq!(home.status(), 303);
    let list = b.get("/ui/projects/1");
    assert!(list.status() == 200 || list.status() == 303);
    let html = b.get("/ui/projects/1").text().unwrap();
    assert!(!html.contains(&app.key), "the key never reaches the page");
}

#[test]
fn ui_a_refused_key_shows_the_server_message() {
    let app = TestApp::spawn();
    let b = Browser::new(&app);
    let r = b.post("/ui/login", &[("personal_api_key", "phx_nope")]);
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    let html = r.text().unwrap();
    assert!(
        html.contains("Personal API key found in request body is invalid."),
        "{html}"
    );
}

#[test]
fn ui_a_change_without_a_valid_csrf_token_is_403_and_changes_nothing() {
    let app = TestApp::spawn();
    let index = app.new_type("company");
    app.new_group(index, "acme", json!({"plan": "free"}));
    let mut b = Browser::new(&app);
    b.sign_in(&app.key);
    let path = format!("/ui/projects/1/types/{index}/group/property?key=acme");
    for token in [None, Some("forged")] {
        let mut form = vec![("name", "plan"), ("value", "pro")];
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        assert_eq!(b.post(&path, &form).status(), 403, "token {token:?}");
    }
    assert_eq!(
        app.find(index, "acme").1["group_properties"]["plan"],
        "free"
    );
    // With the page's token it goes through, typed and recorded as the key's change.
    let csrf = b.csrf(&format!("/ui/projects/1/types/{index}/group?key=acme"));
    let r = b.post(
        &path,
        &[("csrf_token", &csrf), ("name", "seats"), ("value", "12")],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(app.find(index, "acme").1["group_properties"]["seats"], 12);
    let (_, activity) = app.activity(&format!("group_type_index={index}&group_key=acme"));
    assert_eq!(activity["results"][0]["user"]["first_name"], "ci-key");
}

#[test]
fn ui_a_null_value_is_refused_with_the_rest_message() {
    let app = TestApp::spawn();
    let index = app.new_type("company");
    app.new_group(index, "acme", json!({"plan": "free"}));
    let mut b = Browser::new(&app);
    b.sign_in(&app.key);
    let csrf = b.csrf(&format!("/ui/projects/1/types/{index}/group?key=acme"));
    let r = b.post(
        &format!("/ui/projects/1/types/{index}/group/property?key=acme"),
        &[("csrf_token", &csrf), ("name", "plan"), ("value", "null")],
    );
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("This field is required."));
    assert_eq!(
        app.find(index, "acme").1["group_properties"]["plan"],
        "free"
    );
}

#[test]
fn ui_a_read_only_key_sees_no_edit_controls_and_its_writes_are_refused() {
    let app = TestApp::spawn();
    let index = app.new_type("company");
    app.new_group(index, "acme", json!({"plan": "free"}));
    let ro = app.new_key("reader", "group:read", &[]);
    let mut b = Browser::new(&app);
    b.sign_in(&ro);
    let page = b
        .get(&format!("/ui/projects/1/types/{index}/group?key=acme"))
        .text()
        .unwrap();
    assert!(page.contains("free"), "the value is shown");
    for control in ["prop-save", "new-prop", "prop-delete", "New company"] {
        assert!(!page.contains(control), "no {control} for a read-only key");
    }
    let list = b
        .get(&format!("/ui/projects/1/types/{index}"))
        .text()
        .unwrap();
    assert!(!list.contains("new-group"));
    let csrf = b.csrf(&format!("/ui/projects/1/types/{index}/group?key=acme"));
    let r = b.post(
        &format!("/ui/projects/1/types/{index}/group/property?key=acme"),
        &[("csrf_token", &csrf), ("name", "plan"), ("value", "pro")],
    );
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .unwrap()
            .contains("API key missing required scope &#39;group:write&#39;")
    );
    assert_eq!(
        app.find(index, "acme").1["group_properties"]["plan"],
        "free"
    );
}

#[test]
fn ui_sign_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn();
    let mut b = Browser::new(&app);
    b.sign_in(&app.key);
    let copied = b.cookie.clone();
    let csrf = b.csrf("/ui/projects/1");
    let r = b.post("/ui/logout", &[("csrf_token", &csrf)]);
    assert_eq!(r.status(), 303);
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The copied cookie no longer works: the session is gone from the database.
    b.cookie = copied;
    assert!(is_sign_in_redirect(&b.get("/ui/projects/1")));
}

#[test]
fn ui_revoking_the_key_ends_its_sessions() {
    let app = TestApp::spawn();
    let (_, created) = app.create_key(&json!({"label": "temp", "scopes": ["*"]}));
    let (id, plaintext) = (
        created["id"].to_string(),
        created["value"].as_str().unwrap(),
    );
    let mut b = Browser::new(&app);
    b.sign_in(plaintext);
    assert_eq!(b.get("/ui/projects/1").status(), 200);
    assert_eq!(app.delete_key(id.trim_matches('"')).0, 204);
    assert!(is_sign_in_redirect(&b.get("/ui/projects/1")));
}

#[test]
fn ui_a_session_ends_after_12_idle_hours() {
    let app = TestApp::spawn();
    let mut b = Browser::new(&app);
    b.sign_in(&app.key);
    const HOUR: i64 = 3_600_000_000;
    app.clock().set(T0_US + 11 * HOUR);
    assert_eq!(b.get("/ui/projects/1").status(), 200, "used within 12 h");
    app.clock().set(T0_US + 22 * HOUR);
    assert_eq!(
        b.get("/ui/projects/1").status(),
        200,
        "11 h after the last use"
    );
    app.clock().set(T0_US + 34 * HOUR + 1);
    assert!(is_sign_in_redirect(&b.get("/ui/projects/1")));
}

#[test]
fn ui_no_ui_answers_404_everywhere_and_keeps_the_api() {
    let app = TestApp::spawn_with(&["--no-ui"]);
    let b = Browser::new(&app);
    for path in ["/", "/ui/login", "/ui/assets/htmx.min.js", "/ui/projects/1"] {
        assert_eq!(b.get(path).status(), 404, "{path}");
    }
    assert_eq!(app.list_types().0, 200);
}

#[test]
fn ui_assets_are_served_by_groupd() {
    let app = TestApp::spawn();
    let b = Browser::new(&app);
    let r = b.get("/ui/assets/htmx.min.js");
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("htmx"));
    assert_eq!(b.get("/ui/assets/nope.js").status(), 404);
}

#[test]
fn ui_a_project_the_key_may_not_access_is_refused_as_rest_refuses_it() {
    let app = TestApp::spawn();
    let other = app.new_project("Other");
    let other_id = other["id"].as_i64().unwrap();
    let limited = app.new_key("limited", "*", &[other_id]);
    let mut b = Browser::new(&app);
    b.sign_in(&limited);
    let home = b.get("/");
    assert_eq!(
        home.headers()["location"].to_str().unwrap(),
        format!("/ui/projects/{other_id}"),
        "the only project it may access"
    );
    let r = b.get("/ui/projects/1/types/0");
    assert_eq!(r.status(), 403);
    let html = r.text().unwrap();
    assert!(
        html.contains("API key does not have access to the requested project: ID 1."),
        "{html}"
    );
    assert_eq!(b.get("/ui/projects/999").status(), 404);
}

#[test]
fn ui_the_history_tab_shows_each_change_before_after_with_time_and_source_and_pages() {
    let app = TestApp::spawn();
    let index = app.new_type("company");
    app.new_group(index, "acme", json!({"plan": "free", "seats": 3}));
    const SEC: i64 = 1_000_000;
    app.clock().set(T0_US + 60 * SEC);
    let q = format!("group_type_index={index}&group_key=acme");
    assert_eq!(
        app.update_property(&q, &json!({"key": "plan", "value": "pro"}))
            .0,
        200
    );
    app.clock().set(T0_US + 120 * SEC);
    assert_eq!(app.delete_property(&q, &json!({"$unset": "seats"})).0, 200);
    let mut b = Browser::new(&app);
    b.sign_in(&app.key);
    let path = format!("/ui/projects/1/types/{index}/group?key=acme&tab=history");
    let html = b.get(&path).text().unwrap();
    let rows: Vec<&str> = html.split("data-testid=\"history-row\"").skip(1).collect();
    assert!(rows.len() >= 3, "{html}");
    // Newest first: the unset, then free → pro, each with its event time and source.
    assert!(rows[0].contains("seats") && rows[0].contains("3") && rows[0].contains("(removed)"));
    assert!(rows[0].contains("<time datetime=\"2026"), "{}", rows[0]);
    assert!(rows[0].contains("API (ci-key)"), "{}", rows[0]);
    assert!(
        rows[1].contains("plan")
            && rows[1]
                .contains("<span class=\"before\">free</span> → <span class=\"after\">pro</span>"),
        "{}",
        rows[1]
    );
    assert!(!html.contains("history-more"), "one page: no Load more");
    // A history longer than a page offers the cursor, and the next page is older changes.
    let set: serde_json::Map<String, serde_json::Value> =
        (0..100).map(|i| (format!("p{i:03}"), json!(i))).collect();
    app.clock().set(T0_US + 180 * SEC);
    let (s, body) = app.call_json(
        "PATCH",
        &app.purl(&format!("/groups_types/{index}/groups/acme")),
        &json!({"$set": set}),
    );
    assert_eq!(s, 200, "{body}");
    let html = b.get(&path).text().unwrap();
    assert!(
        !html.contains("(removed)"),
        "the first page is the 100 newest"
    );
    const MORE: &str = "data-testid=\"history-more\"";
    let at = html.find(MORE).expect("a Load more link");
    let before = &html[..at];
    let href = &before[before.rfind("href=\"").unwrap() + 6..];
    // askama escapes `&` as `&#38;`.
    let href = href[..href.find('"').unwrap()].replace("&#38;", "&");
    assert!(href.contains("tab=history&cursor="), "{href}");
    let older = b.get(&href).text().unwrap();
    assert!(
        older.contains("(removed)") && older.contains("free"),
        "{older}"
    );
}

#[test]
fn ui_delete_group_asks_first_checks_csrf_and_then_the_list_no_longer_shows_it() {
    let app = TestApp::spawn();
    let index = app.new_type("company");
    app.new_group(index, "acme", json!({"name": "Acme Inc."}));
    app.new_group(index, "globex", json!({"name": "Globex"}));
    let mut b = Browser::new(&app);
    b.sign_in(&app.key);
    let profile = format!("/ui/projects/1/types/{index}/group?key=acme");
    let html = b.get(&profile).text().unwrap();
    assert!(html.contains("data-testid=\"delete-group\""));
    assert!(
        !html.contains("delete-group-confirm"),
        "no deletion form before the confirmation step"
    );
    let confirm = b.get(&format!("{profile}&delete=1")).text().unwrap();
    assert!(confirm.contains("delete-group-confirm"), "{confirm}");
    assert!(confirm.contains("This cannot be undone."));
    let path = format!("/ui/projects/1/types/{index}/group/delete?key=acme");
    for token in [None, Some("forged")] {
        let form: Vec<(&str, &str)> = token.map(|t| ("csrf_token", t)).into_iter().collect();
        assert_eq!(b.post(&path, &form).status(), 403, "token {token:?}");
    }
    assert_eq!(app.find(index, "acme").0, 200, "nothing deleted yet");
    let csrf = b.csrf(&format!("{profile}&delete=1"));
    let r = b.post(&path, &[("csrf_token", &csrf)]);
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/ui/projects/1/types/{index}"));
    assert_eq!(app.find(index, "acme").0, 404);
    let list = b.get(&to).text().unwrap();
    assert!(
        list.contains("Globex") && !list.contains("Acme Inc."),
        "{list}"
    );
    // Again: the REST refusal (404) is shown, not a server error.
    let r = b.post(&path, &[("csrf_token", &csrf)]);
    assert_eq!(r.status(), 404);
    // A read-only key sees no Delete group, and its attempt is refused by the REST scope.
    let ro = app.new_key("reader", "group:read", &[]);
    let mut reader = Browser::new(&app);
    reader.sign_in(&ro);
    let globex = format!("/ui/projects/1/types/{index}/group?key=globex");
    let html = reader.get(&format!("{globex}&delete=1")).text().unwrap();
    assert!(!html.contains("delete-group"), "{html}");
    let csrf = reader.csrf(&globex);
    let r = reader.post(
        &format!("/ui/projects/1/types/{index}/group/delete?key=globex"),
        &[("csrf_token", &csrf)],
    );
    assert_eq!(r.status(), 403);
    assert_eq!(app.find(index, "globex").0, 200);
}

/// The `Set-Cookie` of a sign-in with `key` and `headers`.
fn sign_in_cookie(app: &TestApp, key: &str, headers: &[(&str, &str)]) -> String {
    let mut r = Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/ui/login", app.base))
        .form(&[("personal_api_key", key)]);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["set-cookie"].to_str().unwrap().to_owned()
}

fn has_attribute(cookie: &str, name: &str) -> bool {
    cookie.split(';').any(|a| a.trim() == name)
}

#[test]
fn ui_the_session_cookie_is_secure_behind_https_and_with_secure_cookies() {
    let app = TestApp::spawn();
    let plain = sign_in_cookie(&app, &app.key, &[]);
    assert!(
        !has_attribute(&plain, "Secure"),
        "plain HTTP (a browser would drop a Secure cookie there): {plain}"
    );
    let proxied = sign_in_cookie(&app, &app.key, &[("x-forwarded-proto", "https")]);
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(has_attribute(&proxied, flag), "{flag} in {proxied}");
    }
    let http_proxy = sign_in_cookie(&app, &app.key, &[("x-forwarded-proto", "http")]);
    assert!(!has_attribute(&http_proxy, "Secure"), "{http_proxy}");

    let app = TestApp::spawn_with(&["--secure-cookies"]);
    let mut b = Browser::new(&app);
    let set = b.sign_in(&app.key);
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Max-Age=43200"] {
        assert!(has_attribute(&set, flag), "{flag} in {set}");
    }
    // Clearing it on sign-out carries the same flags.
    let csrf = b.csrf("/ui/projects/1");
    let r = b.post("/ui/logout", &[("csrf_token", &csrf)]);
    assert_eq!(r.status(), 303);
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Max-Age=0"] {
        assert!(has_attribute(cleared, flag), "{flag} in {cleared}");
    }
}

/// `path` fetched with `Accept-Encoding: gzip`: its `Content-Encoding`, bytes on the wire, and
/// the body they decode to.
fn get_gzip(b: &Browser, path: &str) -> (Option<String>, usize, String) {
    use std::io::Read;
    let mut r = b
        .client
        .get(format!("{}{path}", b.base))
        .header("accept-encoding", "gzip");
    if let Some(c) = &b.cookie {
        r = r.header("cookie", c);
    }
    let r = r.send().unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let encoding = r
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let wire = r.bytes().unwrap();
    let mut body = String::new();
    if encoding.as_deref() == Some("gzip") {
        flate2::read::GzDecoder::new(&wire[..])
            .read_to_string(&mut body)
            .unwrap();
    } else {
        body = String::from_utf8(wire.to_vec()).unwrap();
    }
    (encoding, wire.len(), body)
}

#[test]
fn ui_pages_and_assets_are_served_compressed_when_the_browser_asks() {
    let app = TestApp::spawn();
    assert_eq!(app.new_type("company"), 0);
    for i in 0..50 {
        app.new_group(
            0,
            &format!("c{i:03}"),
            json!({"name": format!("Company {i}"), "plan": "pro"}),
        );
    }
    let mut b = Browser::new(&app);
    b.sign_in(&app.key);
    let mut wire_total = 0;
    let mut plain_total = 0;
    for path in [
        "/ui/projects/1/types/0",
        "/ui/assets/htmx.min.js",
        "/ui/assets/app.css",
        "/ui/assets/app.js",
    ] {
        let plain = b.get(path);
        assert_eq!(plain.status(), 200, "{path}");
        assert!(
            plain.headers().get("content-encoding").is_none(),
            "not asked, not compressed: {path}"
        );
        let plain = plain.bytes().unwrap();
        let (encoding, wire, body) = get_gzip(&b, path);
        assert_eq!(encoding.as_deref(), Some("gzip"), "{path}");
        assert!(
            wire < plain.len(),
            "{path}: {wire} of {} bytes",
            plain.len()
        );
        if path.ends_with(".js") || path.ends_with(".css") {
            assert_eq!(body.as_bytes(), &plain[..], "{path} decodes to itself");
        } else {
            assert!(body.contains("Company 49"), "the list decodes: {path}");
        }
        wire_total += wire;
        plain_total += plain.len();
    }
    // The list page's first load (HTML and its assets) is well under half its plain weight.
    assert!(
        wire_total * 2 < plain_total,
        "{wire_total} of {plain_total} bytes"
    );
}

/// Captures `batch`, signs in and returns the HTML of acme's Events tab.
fn events_tab_of_acme(app: &TestApp, batch: Vec<serde_json::Value>) -> String {
    let (s, body) = app.capture("/batch/", &json!({"api_key": app.token(), "batch": batch}));
    assert_eq!(s, 200, "{body}");
    let mut b = Browser::new(app);
    b.sign_in(&app.key);
    b.get("/ui/projects/1/types/0/group?key=acme&tab=events")
        .text()
        .unwrap()
}

#[test]
fn ui_the_events_tab_of_a_busy_group_lists_its_latest_100_and_counts_them_all() {
    let app = TestApp::spawn();
    assert_eq!(app.new_type("company"), 0);
    app.new_group(0, "acme", json!({}));
    // 130 events half an hour apart up to the test clock's now (2.7 days), plus one of another
    // group; the newest 100 are u0…u99.
    let mut batch: Vec<serde_json::Value> = (0..130)
        .map(|i| {
            json!({"event": "e", "distinct_id": format!("u{i}"),
                   "timestamp": groupd_core::time_fmt::format_us(T0_US - i * 1_800_000_000),
                   "properties": {"$groups": {"company": "acme"}}})
        })
        .collect();
    batch.push(json!({"event": "e", "distinct_id": "other", "timestamp": groupd_core::time_fmt::format_us(T0_US),
                      "properties": {"$groups": {"company": "globex"}}}));
    let html = events_tab_of_acme(&app, batch);
    assert_eq!(
        html.matches("data-testid=\"event-row\"").count(),
        100,
        "{html}"
    );
    for shown in ["<td>u0</td>", "<td>u99</td>"] {
        assert!(html.contains(shown), "{shown}");
    }
    for hidden in ["<td>u100</td>", "<td>other</td>"] {
        assert!(!html.contains(hidden), "{hidden}");
    }
    assert!(
        html.contains("(130 in all)"),
        "every event of the 30 days is counted"
    );
}

#[test]
fn ui_the_events_tab_of_a_quiet_group_lists_its_older_events_too() {
    let app = TestApp::spawn();
    assert_eq!(app.new_type("company"), 0);
    app.new_group(0, "acme", json!({}));
    // Three events in the last 30 days and two older ones: the list shows all five, newest
    // first; the chart counts the three.
    let day = 86_400_000_000;
    let batch: Vec<serde_json::Value> = [1, 3, 20, 40, 60]
        .iter()
        .map(|d| {
            json!({"event": "e", "distinct_id": format!("d{d}"),
                   "timestamp": groupd_core::time_fmt::format_us(T0_US - d * day),
                   "properties": {"$groups": {"company": "acme"}}})
        })
        .collect();
    let html = events_tab_of_acme(&app, batch);
    let shown: Vec<usize> = ["d1", "d3", "d20", "d40", "d60"]
        .iter()
        .map(|d| {
            html.find(&format!("<td>{d}</td>"))
                .unwrap_or_else(|| panic!("{d} listed: {html}"))
        })
        .collect();
    assert!(shown.is_sorted(), "newest first: {shown:?}");
    assert!(html.contains("(3 in all)"), "{html}");
}

#[test]
fn ui_a_session_is_known_to_every_server_on_the_database() {
    use crate::helpers::{TestDb, TestServer};
    let db = TestDb::new();
    db.cli_create_project("shared");
    let key = db.cli_create_key("ui", "*", &[]);
    let servers = [TestServer::start(&db, &[]), TestServer::start(&db, &[])];
    let browser = |i: usize, cookie: Option<String>| Browser {
        client: Client::builder().redirect(Policy::none()).build().unwrap(),
        base: servers[i].base.clone(),
        cookie,
    };
    let mut a = browser(0, None);
    a.sign_in(&key);
    let b = browser(1, a.cookie.clone());
    assert_eq!(
        b.get("/ui/projects/1").status(),
        200,
        "signed in on A, known to B"
    );
    let csrf = b.csrf("/ui/projects/1");
    assert_eq!(b.post("/ui/logout", &[("csrf_token", &csrf)]).status(), 303);
    assert!(
        is_sign_in_redirect(&a.get("/ui/projects/1")),
        "signed out on B, ended on A too"
    );
}
