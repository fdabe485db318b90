//! `/groups_types/{index}/groups/…`: the RESTful aliases of the group routes (lifecycle.md) and
//! the multi-property `PATCH`.
use serde_json::{Value, json};

use crate::helpers::*;

fn path(app: &TestApp, rest: &str) -> String {
    app.purl(&format!("/groups_types/{rest}"))
}

#[test]
fn the_path_list_pages_like_the_query_list_and_its_next_keeps_the_path() {
    let app = TestApp::spawn();
    let idx = app.new_type("company");
    for k in ["a", "b", "c"] {
        app.new_group(idx, k, json!({"n": k}));
    }
    let (status, page) = app.get(&path(&app, "0/groups/?limit=2&search=n"));
    assert_eq!(status, 200, "{page}");
    assert_eq!(keys(&page), ["c", "b"]);
    let next = page["next"].as_str().expect("a next page").to_owned();
    assert!(next.contains("/groups_types/0/groups/?cursor="), "{next}");
    assert!(!next.contains("group_type_index"), "{next}");
    assert!(
        next.contains("search=n") && next.contains("limit=2"),
        "{next}"
    );
    let (_, rest) = app.get(&next);
    assert_eq!(keys(&rest), ["a"]);
    assert_eq!(rest["next"], Value::Null);
    // The same answer as the query-parameter route.
    let (_, by_query) = app.list_groups("group_type_index=0&limit=2&search=n");
    assert_eq!(by_query["results"], page["results"]);
    // An index with no type lists nothing.
    let (status, empty) = app.get(&path(&app, "3/groups/"));
    assert_eq!((status, keys(&empty).len()), (200, 0));
}

#[test]
fn the_path_find_decodes_the_key_and_refuses_a_bad_index() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme/eu", json!({"name": "Acme"}));
    let (status, g) = app.get(&path(&app, "0/groups/acme%2Feu"));
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["group_key"], "acme/eu");
    assert_eq!(g["notebook"], Value::Null);
    assert_eq!(g, app.find(0, "acme/eu").1);
    assert_not_found(&app.get(&path(&app, "0/groups/nobody")));
    assert_not_found(&app.get(&path(&app, "4/groups/acme%2Feu")));
    assert_not_an_integer(&app.get(&path(&app, "x/groups/acme")), "group_type_index");
    assert_not_an_integer(&app.get(&path(&app, "x/groups/")), "group_type_index");
}

#[test]
fn a_patch_sets_and_unsets_several_properties_at_once_with_one_activity_entry_each() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"plan": "free", "seats": 3, "old": true}));
    let body = json!({"$set": {"plan": "pro", "seats": 3, "region": "eu"}, "$unset": ["old"]});
    let (status, g) = app.call_json("PATCH", &path(&app, "0/groups/acme"), &body);
    assert_eq!(status, 200, "{g}");
    assert_eq!(
        g["group_properties"],
        json!({"plan": "pro", "seats": 3, "region": "eu"})
    );
    assert_eq!(
        app.find(0, "acme").1["group_properties"],
        g["group_properties"]
    );
    let (_, act) = app.activity("group_type_index=0&group_key=acme");
    let kinds: Vec<(String, String)> = act["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["activity"].as_str().unwrap().to_owned(),
                e["detail"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    // plan changed, region created, old removed; seats (same value) logs nothing.
    for want in [
        ("update_property", "plan"),
        ("create_property", "region"),
        ("update_property", "old"),
    ] {
        assert!(
            kinds.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {kinds:?}"
        );
    }
    assert_eq!(
        kinds.len(),
        6,
        "three at creation, three by the patch: {kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|k| k.1 == "seats" && k.0 != "create_group"),
        "{kinds:?}"
    );
}

#[test]
fn a_patch_is_all_or_nothing() {
    let app = TestApp::spawn();
    app.new_type("company");
    app.new_group(0, "acme", json!({"plan": "free"}));
    let body = json!({"$set": {"plan": "pro"}, "$unset": ["missing"]});
    let got = app.call_json("PATCH", &path(&app, "0/groups/acme"), &body);
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["attr"], "$unset");
    assert_eq!(
        app.find(0, "acme").1["group_properties"],
        json!({"plan": "free"}),
        "nothing applied"
    );
    for (body, attr) in [
        (json!({"$set": [1]}), "$set"),
        (json!({"$unset": "plan"}), "$unset"),
        (json!({"$set": {"plan": 1}, "$unset": ["plan"]}), "$unset"),
    ] {
        let got = app.call_json("PATCH", &path(&app, "0/groups/acme"), &body);
        assert_eq!((got.0, got.1["attr"].as_str()), (400, Some(attr)), "{body}");
    }
    assert_not_found(&app.call_json(
        "PATCH",
        &path(&app, "0/groups/nobody"),
        &json!({"$set": {"a": 1}}),
    ));
    let reader = app.as_key(&app.new_key("reader", "group:read", &[]));
    let got = reader.call_json(
        "PATCH",
        &path(&app, "0/groups/acme"),
        &json!({"$set": {"a": 1}}),
    );
    assert_missing_scope(&got, "group:write");
}
