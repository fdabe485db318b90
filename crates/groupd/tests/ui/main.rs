//! The web UI in a real headless Chromium (`ui.md`), one test per flow. Skips, saying so, when
//! chromedriver is absent; a failing test leaves a screenshot in `target/ui-screenshots/`.
mod harness;
#[allow(dead_code, unused_imports)]
#[path = "../api/helpers/mod.rs"]
mod helpers;

use serde_json::{Value, json};

use harness::Ui;
use helpers::{T0_US, TestApp};

const SEC: i64 = 1_000_000;

/// Type 0 `company` with acme, globex, initech created a second apart (initech newest), and
/// `plan` as a default column.
fn companies(app: &TestApp) {
    assert_eq!(app.new_type("company"), 0);
    for (i, (key, name, plan)) in [
        ("acme", "Acme Inc.", "free"),
        ("globex", "Globex", "pro"),
        ("initech", "Initech", "pro"),
    ]
    .into_iter()
    .enumerate()
    {
        app.clock().set(T0_US + i as i64 * SEC);
        app.new_group(0, key, json!({"name": name, "plan": plan}));
    }
    let (s, b) = app.put_columns(&json!({"group_type_index": 0, "default_columns": ["plan"]}));
    assert_eq!(s, 200, "{b}");
}

fn row_texts(ui: &Ui) -> Vec<String> {
    ui.all("[data-testid=group-row]")
        .iter()
        .map(|r| ui.rt.block_on(r.text()).unwrap())
        .collect()
}

#[test]
fn sign_in_with_a_key_and_a_refused_key_shows_the_message() {
    let Some(ui) = Ui::start("sign_in") else {
        return;
    };
    ui.goto("/");
    assert_eq!(ui.current_path(), "/ui/login", "signed out: the form");
    ui.type_into("[data-testid=api-key]", "phx_not_a_key");
    ui.click("[data-testid=sign-in]");
    assert_eq!(
        ui.text("[data-testid=login-error]"),
        "Personal API key found in request body is invalid."
    );
    ui.clear("[data-testid=api-key]");
    ui.sign_in(&ui.app.key);
    assert!(ui.current_path().starts_with("/ui/projects/1"));
    assert!(ui.text("header.top").contains("ci-key"));
}

#[test]
fn the_list_shows_newest_first_with_the_default_columns() {
    let Some(ui) = Ui::start("list") else { return };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    assert_eq!(ui.current_path(), "/ui/projects/1/types/0");
    assert_eq!(ui.text("nav.types [aria-current=page]"), "company");
    let heads: Vec<String> = ui
        .all("[data-testid=group-table] thead th")
        .iter()
        .map(|h| ui.rt.block_on(h.text()).unwrap())
        .collect();
    assert_eq!(heads, ["Name", "Key", "First seen", "plan"]);
    let rows = row_texts(&ui);
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with("Initech initech"), "{rows:?}");
    assert!(rows[2].starts_with("Acme Inc. acme"), "{rows:?}");
    assert!(rows[0].ends_with("pro"), "{rows:?}");
    let time = ui.el("[data-testid=group-row] time");
    assert_eq!(
        ui.rt.block_on(time.attr("datetime")).unwrap().as_deref(),
        Some("2026-06-01T00:00:02Z")
    );
}

#[test]
fn the_search_box_updates_the_list_as_one_types() {
    let Some(ui) = Ui::start("search") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    let before = ui.current_path();
    ui.type_into("[data-testid=search]", "glob");
    ui.until("the filtered rows", |u| {
        u.count("[data-testid=group-row]") == 1
    });
    assert!(row_texts(&ui)[0].contains("globex"));
    assert_eq!(ui.current_path(), before, "swapped in place, no navigation");
    ui.clear("[data-testid=search]");
    ui.type_into("[data-testid=search]", "zzz");
    ui.until("no match", |u| u.count("[data-testid=group-row]") == 0);
    assert!(ui.text("#group-rows").contains("No group matches."));
}

#[test]
fn load_more_pages_on_the_cursor() {
    let Some(ui) = Ui::start("paging") else {
        return;
    };
    assert_eq!(ui.app.new_type("company"), 0);
    for i in 0..120 {
        ui.app.clock().set(T0_US + i * SEC);
        ui.app.new_group(0, &format!("g{i:03}"), json!({}));
    }
    ui.sign_in(&ui.app.key);
    assert_eq!(ui.count("[data-testid=group-row]"), 50);
    ui.click("[data-testid=load-more]");
    ui.until("the second page", |u| {
        u.count("[data-testid=group-row]") == 100
    });
    ui.click("[data-testid=load-more]");
    ui.until("the last page", |u| {
        u.count("[data-testid=group-row]") == 120
    });
    assert_eq!(ui.count("[data-testid=load-more]"), 0, "nothing more");
    let rows = row_texts(&ui);
    assert!(rows[0].contains("g119") && rows[119].contains("g000"));
}

#[test]
fn an_empty_type_shows_the_snippet_with_the_project_token() {
    let Some(ui) = Ui::start("empty") else { return };
    ui.app.new_type("company");
    ui.sign_in(&ui.app.key);
    let empty = ui.text("[data-testid=empty-state]");
    assert!(empty.contains(&ui.app.token()), "{empty}");
    assert!(empty.contains("posthog.group('company'"));
    assert!(empty.contains("group_identify('company'"));
}

#[test]
fn properties_are_edited_added_typed_and_deleted_with_a_confirmation() {
    let Some(ui) = Ui::start("properties") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/types/0/group?key=acme");
    assert_eq!(ui.text("[data-testid=group-key]"), "acme");
    // Edit: a numeric string becomes a number.
    let plan = "[data-prop=plan] [data-testid=prop-value]";
    ui.clear(plan);
    ui.type_into(plan, "42");
    ui.click("[data-prop=plan] [data-testid=prop-save]");
    ui.until("the saved page", |u| {
        u.current_path().contains("done=saved")
    });
    assert_eq!(
        ui.app.find(0, "acme").1["group_properties"]["plan"],
        json!(42)
    );
    // New: `true` becomes a boolean.
    ui.goto("/ui/projects/1/types/0/group?key=acme");
    ui.type_into("[data-testid=new-prop-name]", "active");
    ui.type_into("[data-testid=new-prop-value]", "true");
    ui.click("[data-testid=new-prop-save]");
    ui.until("the new row", |u| u.count("[data-prop=active]") == 1);
    assert_eq!(
        ui.app.find(0, "acme").1["group_properties"]["active"],
        json!(true)
    );
    // null is refused with the REST message, and nothing changes.
    ui.type_into("[data-testid=new-prop-name]", "plan");
    ui.type_into("[data-testid=new-prop-value]", "null");
    ui.click("[data-testid=new-prop-save]");
    assert_eq!(
        ui.text("[data-testid=change-error]"),
        "This field is required."
    );
    assert_eq!(
        ui.app.find(0, "acme").1["group_properties"]["plan"],
        json!(42)
    );
    // Delete asks first.
    ui.click("[data-prop=active] [data-testid=prop-delete]");
    ui.click("[data-testid=prop-delete-confirm]");
    ui.until("the row gone", |u| u.count("[data-prop=active]") == 0);
    let props = ui.app.find(0, "acme").1["group_properties"].clone();
    assert!(props.get("active").is_none(), "{props}");
    // Every change is recorded under the key's label.
    let (_, activity) = ui
        .app
        .activity("group_type_index=0&group_key=acme&limit=100");
    let labels: Vec<&Value> = activity["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["user"]["first_name"])
        .collect();
    assert!(
        labels.len() >= 3 && labels.iter().all(|l| *l == "ci-key"),
        "{activity}"
    );
}

#[test]
fn the_history_tab_shows_a_change_before_and_after() {
    let Some(ui) = Ui::start("history") else {
        return;
    };
    companies(&ui.app);
    ui.app.clock().set(T0_US + 60 * SEC);
    let (s, b) = ui.app.update_property(
        "group_type_index=0&group_key=acme",
        &json!({"key": "plan", "value": "pro"}),
    );
    assert_eq!(s, 200, "{b}");
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/types/0/group?key=acme");
    ui.click("nav.tabs a[href$='tab=history']");
    ui.until("the history tab", |u| {
        u.count("[data-testid=history-row]") > 0
    });
    let newest = ui.text("[data-testid=history-row]");
    assert!(newest.contains("plan"), "{newest}");
    assert!(newest.contains("free → pro"), "{newest}");
    assert!(newest.contains("API (ci-key)"), "{newest}");
    let iso = ui.js(
        "return document.querySelector('[data-testid=history-row] time').getAttribute('datetime')",
    );
    assert!(iso.as_str().unwrap().starts_with("20"), "{iso}");
}

#[test]
fn delete_group_asks_deletes_and_the_list_no_longer_shows_it() {
    let Some(ui) = Ui::start("delete_group") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/types/0/group?key=globex");
    ui.click("[data-testid=delete-group]");
    ui.until("the confirmation", |u| {
        u.count("[data-testid=delete-group-confirm]") == 1
    });
    assert_eq!(ui.app.find(0, "globex").0, 200, "asking deletes nothing");
    ui.click("[data-testid=delete-group-confirm]");
    ui.until("back on the list", |u| {
        u.current_path() == "/ui/projects/1/types/0"
    });
    let rows = row_texts(&ui);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| !r.contains("globex")), "{rows:?}");
    assert_eq!(ui.app.find(0, "globex").0, 404);
}

#[test]
fn the_events_tab_lists_events_and_charts_them_per_day() {
    let Some(ui) = Ui::start("events") else {
        return;
    };
    companies(&ui.app);
    let events: Vec<Value> = (0..5)
        .map(|i| {
            json!({"event": if i % 2 == 0 {"signed_up"} else {"$pageview"}, "distinct_id": format!("u{i}"),
                   "timestamp": format!("2026-05-{:02}T10:00:00Z", 25 + i),
                   "properties": {"$groups": {"company": "acme"}}})
        })
        .collect();
    let (s, b) = ui.app.capture(
        "/batch/",
        &json!({"api_key": ui.app.token(), "batch": events}),
    );
    assert_eq!(s, 200, "{b}");
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/types/0/group?key=acme&tab=events");
    assert_eq!(ui.count("[data-testid=event-row]"), 5);
    let first = ui.text("[data-testid=event-row]");
    assert!(
        first.contains("u4") && first.contains("signed_up"),
        "{first}"
    );
    let bars = ui.js(
        "return Array.from(document.querySelectorAll('[data-testid=events-chart] rect.bar'))\
         .map(r => parseFloat(r.getAttribute('height')) > 0);",
    );
    let bars = bars.as_array().unwrap();
    assert_eq!(bars.len(), 30, "a bar per day");
    assert_eq!(bars.iter().filter(|b| **b == json!(true)).count(), 5);
}

#[test]
fn sql_shows_a_table_and_a_line_chart() {
    let Some(ui) = Ui::start("sql") else { return };
    companies(&ui.app);
    let events: Vec<Value> = (0..6)
        .map(|i| json!({"event": "e", "distinct_id": "u", "timestamp": format!("2026-05-{:02}T10:00:00Z", 20 + i % 3)}))
        .collect();
    ui.app.capture(
        "/batch/",
        &json!({"api_key": ui.app.token(), "batch": events}),
    );
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/sql");
    ui.click("[data-testid=sql-run]");
    ui.until("the result", |u| {
        u.count("[data-testid=sql-result] tbody tr") == 3
    });
    assert_eq!(
        ui.count("[data-testid=sql-chart] polyline"),
        1,
        "a date then numbers"
    );
    ui.clear("[data-testid=sql-text]");
    ui.type_into(
        "[data-testid=sql-text]",
        "SELECT key, properties.plan FROM groups WHERE key != 'acme' ORDER BY key",
    );
    ui.click("[data-testid=sql-run]");
    ui.until("the groups", |u| {
        u.count("[data-testid=sql-result] tbody tr") == 2
    });
    assert_eq!(
        ui.count("[data-testid=sql-chart]"),
        0,
        "no time column, no chart"
    );
}

#[test]
fn sql_errors_show_the_server_detail_beside_the_query() {
    let Some(ui) = Ui::start("sql_error") else {
        return;
    };
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/sql");
    ui.clear("[data-testid=sql-text]");
    ui.type_into("[data-testid=sql-text]", "SELECT nope FROM nowhere");
    ui.click("[data-testid=sql-run]");
    let shown = ui.text("[data-testid=sql-error]");
    let (status, rest) = ui.app.query("SELECT nope FROM nowhere");
    assert_eq!(status, 400);
    assert_eq!(shown, rest["detail"].as_str().unwrap());
    assert_eq!(
        ui.text("[data-testid=sql-text]"),
        "SELECT nope FROM nowhere",
        "the query stays beside its error"
    );
}

#[test]
fn a_read_only_key_sees_no_edit_controls() {
    let Some(ui) = Ui::start("read_only") else {
        return;
    };
    companies(&ui.app);
    let ro = ui.app.new_key("reader", "group:read", &[]);
    ui.sign_in(&ro);
    for path in [
        "/ui/projects/1/types/0",
        "/ui/projects/1/types/0/group?key=acme",
        "/ui/projects/1/settings",
    ] {
        ui.goto(path);
        let inputs = ui.js(
            "return Array.from(document.querySelectorAll('input, textarea, select'))\
             .filter(i => i.type !== 'hidden' && i.type !== 'search').length;",
        );
        assert_eq!(inputs, json!(0), "no input but search boxes on {path}");
        let buttons = ui.js(
            "return Array.from(document.querySelectorAll('button, a.button'))\
             .map(b => b.textContent.trim()).filter(t => !['Sign out','Search','Filter','Copy'].includes(t));",
        );
        assert_eq!(buttons, json!([]), "no edit control on {path}");
    }
    ui.goto("/ui/projects/1/types/0/group?key=acme");
    assert!(ui.text("[data-testid=props]").contains("Acme Inc."));
}

#[test]
fn the_session_cookie_is_http_only_and_same_site_strict() {
    let Some(ui) = Ui::start("cookie") else {
        return;
    };
    ui.sign_in(&ui.app.key);
    let cookie = ui
        .rt
        .block_on(ui.c.get_named_cookie("groupd_session"))
        .expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()).as_deref(),
        Some("Strict")
    );
    assert!(cookie.value().len() >= 22, "at least 128 random bits");
    assert_eq!(
        ui.js("return document.cookie;"),
        json!(""),
        "not readable by scripts"
    );
    // htmx may keep its (empty) history cache there; neither the key nor the session is.
    let storage = ui.js(
        "return JSON.stringify(Object.assign({}, localStorage)) + JSON.stringify(Object.assign({}, sessionStorage));",
    );
    let storage = storage.as_str().unwrap();
    assert!(
        !storage.contains(&ui.app.key) && !storage.contains(cookie.value()),
        "{storage}"
    );
    assert!(!ui.rt.block_on(ui.c.source()).unwrap().contains(&ui.app.key));
}

#[test]
fn no_request_goes_to_another_host() {
    let Some(ui) = Ui::start("no_other_host") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    for path in [
        "/ui/projects/1/types/0",
        "/ui/projects/1/types/0/group?key=acme&tab=events",
        "/ui/projects/1/sql",
    ] {
        ui.goto(path);
        let urls = ui.js(
            "return performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation')).map(e => e.name);",
        );
        let urls = urls.as_array().unwrap();
        assert!(
            urls.iter()
                .any(|u| u.as_str().unwrap().ends_with("htmx.min.js")),
            "htmx loaded from groupd: {urls:?}"
        );
        for u in urls {
            assert!(
                u.as_str().unwrap().starts_with(&ui.app.base),
                "{u} on {path}"
            );
        }
    }
}

#[test]
fn sign_out_ends_the_session_on_the_server() {
    let Some(ui) = Ui::start("sign_out") else {
        return;
    };
    ui.sign_in(&ui.app.key);
    let cookie = ui
        .rt
        .block_on(ui.c.get_named_cookie("groupd_session"))
        .unwrap()
        .value()
        .to_owned();
    ui.click("[data-testid=sign-out]");
    ui.until("the sign-in form", |u| u.current_path() == "/ui/login");
    let copied = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(ui.url("/ui/projects/1"))
        .header("cookie", format!("groupd_session={cookie}"))
        .send()
        .unwrap();
    assert_eq!(copied.status(), 303, "a copied cookie no longer works");
    assert_eq!(copied.headers()["location"], "/ui/login");
}

#[test]
fn a_phone_width_page_does_not_scroll_sideways() {
    let Some(ui) = Ui::start("phone") else { return };
    companies(&ui.app);
    ui.rt.block_on(ui.c.set_window_size(390, 844)).unwrap();
    ui.sign_in(&ui.app.key);
    for path in [
        "/ui/projects/1/types/0",
        "/ui/projects/1/types/0/group?key=acme",
    ] {
        ui.goto(path);
        let wide = ui.js("return document.documentElement.scrollWidth - window.innerWidth;");
        assert!(wide.as_i64().unwrap() <= 0, "{path} overflows by {wide}");
    }
}

#[test]
fn everything_works_with_javascript_off() {
    let Some(ui) = Ui::start_with("no_js", TestApp::spawn(), false) else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    ui.type_into("[data-testid=search]", "glob\n");
    ui.until("the search page", |u| {
        u.current_path().contains("search=glob")
    });
    assert_eq!(ui.count("[data-testid=group-row]"), 1);
    ui.goto("/ui/projects/1/types/0/group?key=globex");
    let plan = "[data-prop=plan] [data-testid=prop-value]";
    ui.clear(plan);
    ui.type_into(plan, "enterprise");
    ui.click("[data-prop=plan] [data-testid=prop-save]");
    ui.until("the saved page", |u| {
        u.current_path().contains("done=saved")
    });
    assert_eq!(
        ui.app.find(0, "globex").1["group_properties"]["plan"],
        "enterprise"
    );
    ui.goto("/ui/projects/1/types/0/group?key=globex&tab=events");
    assert_eq!(
        ui.count("[data-testid=events-chart] svg"),
        1,
        "charts need no script"
    );
}

#[test]
fn a_group_is_created_from_the_form() {
    let Some(ui) = Ui::start("create") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    ui.click("[data-testid=new-group]");
    ui.type_into("[data-testid=create-name]", "Wayne Enterprises");
    ui.type_into("[data-testid=create-key]", "wayne");
    ui.type_into("#pn-1", "seats");
    ui.type_into("#pv-1", "250");
    ui.click("[data-testid=create-save]");
    ui.until("the new group's page", |u| {
        u.current_path().contains("group?key=wayne")
    });
    let g = ui.app.find(0, "wayne").1;
    assert_eq!(
        g["group_properties"],
        json!({"name": "Wayne Enterprises", "seats": 250})
    );
    // A key in use: the REST message beside the form, nothing created.
    ui.goto("/ui/projects/1/types/0/new");
    ui.type_into("[data-testid=create-key]", "acme");
    ui.click("[data-testid=create-save]");
    let shown = ui.text("[data-testid=create-error]");
    let (status, rest) = ui
        .app
        .create_group(&json!({"group_type_index": 0, "group_key": "acme"}));
    assert_eq!(status, 400);
    assert!(
        shown.ends_with(rest["detail"].as_str().unwrap()),
        "{shown} / {rest}"
    );
}

#[test]
fn settings_rename_a_type_and_its_tab_follows() {
    let Some(ui) = Ui::start("settings") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/settings");
    ui.type_into("#s-0", "organisation");
    ui.type_into("#p-0", "organisations");
    ui.click("#s-0 ~ button");
    ui.until("the saved settings", |u| {
        u.app.list_types().1[0]["name_plural"] == "organisations"
    });
    ui.goto("/ui/projects/1/types/0");
    assert_eq!(ui.text("nav.types [aria-current=page]"), "organisations");
    // A usage metric, then its value on a group's Usage tab.
    ui.goto("/ui/projects/1/settings");
    ui.type_into("#nn-0", "Page views");
    ui.click("#nd-0 option:nth-child(2)");
    assert_eq!(
        ui.js("return document.querySelector('#nd-0').value;"),
        json!("sparkline")
    );
    ui.click("#nn-0 ~ button");
    ui.until("the metric", |u| u.count(".metrics li form") >= 1);
    // Three events in the last 7 days, one in the 7 before: 3, +200%, and a sparkline.
    let events: Vec<Value> = ["2026-05-28", "2026-05-29", "2026-05-30", "2026-05-21"]
        .iter()
        .map(|d| {
            json!({"event": "$pageview", "distinct_id": "u", "timestamp": format!("{d}T10:00:00Z"),
                   "properties": {"$groups": {"company": "acme"}}})
        })
        .collect();
    let (s, b) = ui.app.capture(
        "/batch/",
        &json!({"api_key": ui.app.token(), "batch": events}),
    );
    assert_eq!(s, 200, "{b}");
    ui.goto("/ui/projects/1/types/0/group?key=acme&tab=usage");
    let row = ui.text("[data-testid=usage] tbody tr");
    assert!(row.contains("Page views"), "{row}");
    assert!(row.contains('3') && row.contains("+200%"), "{row}");
    assert_eq!(
        ui.count("[data-testid=usage] tbody tr svg"),
        1,
        "a sparkline"
    );
}

#[test]
fn a_key_with_several_projects_picks_one_and_sees_its_types() {
    let Some(ui) = Ui::start("projects") else {
        return;
    };
    companies(&ui.app);
    let other = ui.app.new_project("Other shop");
    let other_id = other["id"].as_i64().unwrap();
    ui.sign_in(&ui.app.key);
    let projects = ui.text("nav.projects");
    assert!(projects.contains("Other shop"), "{projects}");
    assert_eq!(
        ui.text("nav.projects [aria-current=page]"),
        ui.app.project["name"].as_str().unwrap()
    );
    assert_eq!(ui.text("nav.types [aria-current=page]"), "company");
    ui.click(&format!("nav.projects a[href='/ui/projects/{other_id}']"));
    ui.until("the other project", |u| {
        u.current_path()
            .starts_with(&format!("/ui/projects/{other_id}"))
    });
    assert_eq!(ui.text("nav.projects [aria-current=page]"), "Other shop");
    assert_eq!(ui.count("nav.types a"), 0, "project 1's types are not its");
    // A key limited to project 1 has nothing to pick: project 1's name, no other.
    let one = ui.app.new_key("one-project", "group:read", &[1]);
    ui.click("[data-testid=sign-out]");
    ui.until("signed out", |u| u.current_path() == "/ui/login");
    ui.sign_in(&one);
    assert_eq!(ui.count("nav.projects a"), 0, "no picker for one project");
    let header = ui.text("header.top");
    assert!(
        header.contains(ui.app.project["name"].as_str().unwrap()) && !header.contains("Other shop"),
        "{header}"
    );
}

#[test]
fn the_properties_filter_narrows_the_rows_and_the_key_has_a_copy_button() {
    let Some(ui) = Ui::start("prop_filter") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/types/0/group?key=acme");
    assert_eq!(ui.count("[data-testid=prop-row]"), 2, "name and plan");
    ui.type_into("[data-testid=prop-filter]", "fre");
    ui.until("the filtered properties", |u| {
        u.count("[data-testid=prop-row]") == 1
    });
    assert_eq!(ui.count("[data-prop=plan]"), 1, "matched by its value");
    let copy = ui.el("button.copy");
    assert_eq!(
        ui.rt.block_on(copy.attr("data-copy")).unwrap().as_deref(),
        Some("acme")
    );
}

#[test]
fn the_related_tab_lists_groups_and_people_seen_with_the_group() {
    let Some(ui) = Ui::start("related") else {
        return;
    };
    companies(&ui.app);
    assert_eq!(ui.app.new_type("team"), 1);
    ui.app.new_group(1, "red", json!({"name": "Red team"}));
    let (s, b) = ui.app.capture(
        "/batch/",
        &json!({"api_key": ui.app.token(), "batch": [
            {"event": "$pageview", "distinct_id": "ann", "timestamp": "2026-05-30T10:00:00Z",
             "properties": {"$groups": {"company": "acme", "team": "red"}}}]}),
    );
    assert_eq!(s, 200, "{b}");
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/types/0/group?key=acme");
    ui.click("nav.tabs a[href$='tab=related']");
    // Reads poll and tolerate a stale element: htmx (hx-boost) swaps the body under them.
    let mut related = String::new();
    ui.until("the related tab", |u| {
        related = u.text_now("[data-testid=related]").unwrap_or_default();
        related.contains("ann")
    });
    // The group by its name, the person by distinct_id.
    assert!(related.contains("Red team"), "{related}");
    ui.click("[data-testid=related] a");
    ui.until("the related group", |u| {
        u.text_now("[data-testid=group-key]").as_deref() == Some("red")
    });
}

#[test]
fn settings_set_default_columns_edit_and_delete_a_metric_and_delete_a_type() {
    let Some(ui) = Ui::start("settings_more") else {
        return;
    };
    companies(&ui.app);
    ui.sign_in(&ui.app.key);
    ui.goto("/ui/projects/1/settings");
    ui.clear("#c-0");
    ui.type_into("#c-0", "plan, seats");
    ui.click("#c-0 ~ button");
    ui.until("the saved columns", |u| {
        u.app.list_types().1[0]["default_columns"] == json!(["plan", "seats"])
    });
    ui.goto("/ui/projects/1/types/0");
    let heads: Vec<String> = ui
        .all("[data-testid=group-table] thead th")
        .iter()
        .map(|h| ui.rt.block_on(h.text()).unwrap())
        .collect();
    assert_eq!(heads, ["Name", "Key", "First seen", "plan", "seats"]);
    // A metric: added, renamed, then deleted after a confirmation.
    ui.goto("/ui/projects/1/settings");
    ui.type_into("#nn-0", "Signups");
    ui.click("#nn-0 ~ button");
    ui.until("the metric", |u| u.count(".metrics li form") >= 1);
    let name = ui.el(".metrics li form input[id^=mn-]");
    let id = ui.rt.block_on(name.attr("id")).unwrap().unwrap();
    ui.clear(&format!("#{id}"));
    ui.type_into(&format!("#{id}"), "Sign-ups");
    ui.click(&format!("#{id} ~ button"));
    let metrics = |u: &Ui| {
        u.app
            .get(&format!(
                "{}/api/projects/1/groups_types/0/metrics",
                u.app.base
            ))
            .1
            .to_string()
    };
    ui.until("the renamed metric", |u| metrics(u).contains("Sign-ups"));
    ui.goto("/ui/projects/1/settings");
    ui.click(".metrics a.danger");
    ui.until("the metric's confirmation", |u| {
        u.count(".metrics form.confirm") == 1
    });
    assert!(metrics(&ui).contains("Sign-ups"), "asking deletes nothing");
    ui.click(".metrics form.confirm button.danger");
    ui.until("no metric", |u| !metrics(u).contains("Sign-ups"));
    ui.goto("/ui/projects/1/settings");
    assert_eq!(ui.count(".metrics li form"), 0);
    // The type: asked first, then gone with its tab.
    ui.click(".type-settings p a.danger");
    ui.until("the type's confirmation", |u| {
        u.count(".type-settings form.confirm") == 1
    });
    assert_eq!(
        ui.app.list_types().1.as_array().unwrap().len(),
        1,
        "asking deletes nothing"
    );
    ui.click(".type-settings form.confirm button.danger");
    ui.until("the type gone", |u| {
        u.app.list_types().1.as_array().unwrap().is_empty()
    });
    ui.goto("/ui/projects/1");
    assert_eq!(ui.count("nav.types a"), 0);
}

/// Not a check: refreshes the README's screenshots from the real binary
/// (`cargo nextest run --workspace -E 'binary(ui)' --run-ignored only`).
#[test]
#[ignore = "writes docs/img/"]
fn docs_screenshots() {
    let app = TestApp::spawn_process(&[], &[]);
    let Some(ui) = Ui::start_with("docs", app, true) else {
        return;
    };
    ui.rt.block_on(ui.c.set_window_size(1100, 640)).unwrap();
    assert_eq!(ui.app.new_type("company"), 0);
    let (s, b) = ui.app.patch_types(
        &json!([{"group_type_index": 0, "name_singular": "company", "name_plural": "companies"}]),
    );
    assert_eq!(s, 200, "{b}");
    for (key, name, plan, seats) in [
        ("acme", "Acme Inc.", "enterprise", 120),
        ("globex", "Globex", "pro", 40),
        ("initech", "Initech", "free", 3),
        ("umbrella", "Umbrella Corp", "pro", 75),
        ("hooli", "Hooli", "enterprise", 900),
        ("stark", "Stark Industries", "pro", 220),
    ] {
        ui.app.new_group(
            0,
            key,
            json!({"name": name, "plan": plan, "seats": seats, "industry": "software"}),
        );
    }
    ui.app
        .put_columns(&json!({"group_type_index": 0, "default_columns": ["plan", "seats"]}));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let events: Vec<Value> = (0..60)
        .map(|i| {
            let ts = now - (i * 37 % 25) * 86_400 - i * 600;
            let event = ["$pageview", "signed_up", "api_request"][i as usize % 3];
            json!({"event": event,
                   "distinct_id": format!("user-{}", i % 7), "timestamp": groupd_core::time_fmt::format_us(ts * 1_000_000),
                   "properties": {"$groups": {"company": "acme"}}})
        })
        .collect();
    ui.app.capture(
        "/batch/",
        &json!({"api_key": ui.app.token(), "batch": events}),
    );
    ui.sign_in(&ui.app.key);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img");
    ui.goto("/ui/projects/1/types/0");
    ui.screenshot(&dir.join("ui-list.png"));
    ui.rt.block_on(ui.c.set_window_size(1100, 900)).unwrap();
    ui.goto("/ui/projects/1/types/0/group?key=acme&tab=events");
    ui.screenshot(&dir.join("ui-group.png"));
}
