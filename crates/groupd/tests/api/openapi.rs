//! `/api/schema/` documents the API completely: every path and method the router serves (so a
//! new route cannot be left out), a schema for every 2xx answer, and answers that match those
//! schemas (so the documented shapes cannot drift from the handlers' JSON).
use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A path as the schema keys it, for comparison: the `/api/environments` alias read as
/// `/api/projects`, without a trailing slash.
fn normal(path: &str) -> String {
    let path = path.trim_end_matches('/');
    match path.strip_prefix("/api/environments") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/api/projects{rest}"),
        _ => path.to_owned(),
    }
}

/// The (normal path, method) pairs the schema documents.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((normal(path), m.to_owned()));
            }
        }
    }
    ops
}

/// `path` with its parameters filled in for `app` (values that name nothing, where a request
/// could change something the test still needs).
fn concrete(app: &TestApp, path: &str) -> String {
    path.replace("{project_id}", &app.project["id"].to_string())
        .replace("{group_type_index}", "0")
        .replace("{group_key}", "nobody")
        .replace("{id}", "00000000-0000-0000-0000-00000000dead")
}

fn schema_of(app: &TestApp) -> Value {
    let (status, doc) = app.anonymous().get(&app.url("/api/schema/"));
    assert_eq!(status, 200, "{doc}");
    doc
}

#[test]
fn every_path_and_method_the_router_serves_is_documented_and_nothing_else() {
    let app = TestApp::spawn();
    let doc = schema_of(&app);
    let documented = documented(&doc);
    let paths = groupd_server::http::api_paths();
    assert!(paths.len() > 40, "{paths:?}");
    // The router's methods, probed: an unserved method is 405, anything else is served.
    let mut served = BTreeSet::new();
    for path in &paths {
        let url = app.url(&concrete(&app, path));
        for m in METHODS {
            let (status, body) = app.call(&m.to_uppercase(), &url);
            if status != 405 {
                served.insert((normal(path), m.to_owned()));
            } else {
                assert_eq!(body["code"], "method_not_allowed", "{m} {url}: {body}");
            }
        }
    }
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in /api/schema/: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "in /api/schema/ but not served: {unserved:?}"
    );
    for capture in ["/e", "/i/v0/e", "/capture", "/batch", "/track", "/engage"] {
        for m in ["get", "post"] {
            assert!(documented.contains(&(capture.to_owned(), m.to_owned())));
        }
    }
}

#[test]
fn every_operation_has_a_schema_for_its_success_and_a_body_where_it_takes_one() {
    let app = TestApp::spawn();
    let doc = schema_of(&app);
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_owned()),
                "{m} {path}: operationId {id:?} twice"
            );
            let responses = op["responses"].as_object().unwrap();
            let ok: Vec<_> = responses
                .iter()
                .filter(|(s, _)| s.starts_with('2'))
                .collect();
            assert!(!ok.is_empty(), "{m} {path}: no 2xx answer");
            for (status, r) in ok {
                if status == "204" {
                    continue;
                }
                let content = r["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{m} {path} {status}: no content"));
                for (ct, c) in content {
                    assert!(
                        c.get("schema").is_some(),
                        "{m} {path} {status} {ct}: no schema"
                    );
                }
            }
            let takes_body =
                matches!(m, "post" | "put" | "patch") && !path.ends_with("/groups/delete_group");
            if takes_body {
                let body = &op["requestBody"]["content"];
                assert!(
                    body.as_object()
                        .is_some_and(|c| c.values().all(|c| c.get("schema").is_some())),
                    "{m} {path}: no request body schema"
                );
            }
        }
    }
}

/// Answers collected for checking against the schema.
#[derive(Default)]
struct Samples(Vec<Value>);

impl Samples {
    /// Records `body` as the answer of `method path` (the schema's spelling) with `status`.
    fn add(&mut self, path: &str, method: &str, (status, body): (u16, Value)) -> Value {
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {body}"
        );
        self.0.push(
            json!({"path": path, "method": method, "status": status.to_string(),
                           "content_type": "application/json", "body": body}),
        );
        body
    }

    /// Records one NDJSON line of an answer.
    fn add_line(&mut self, path: &str, method: &str, line: Value) {
        self.0
            .push(json!({"path": path, "method": method, "status": "200",
                           "content_type": "application/x-ndjson", "body": line}));
    }
}

const P: &str = "/api/projects/{project_id}";

#[test]
fn answers_match_the_documented_schemas() {
    let app = TestApp::spawn();
    let doc = schema_of(&app);
    let mut s = Samples::default();
    let p = |rest: &str| app.purl(rest);
    let pp = |rest: &str| format!("{P}{rest}");

    let t = s.add(
        &pp("/groups_types/"),
        "post",
        app.create_type(&json!({"group_type": "company"})),
    );
    assert_eq!(t["group_type_index"], 0);
    app.new_type("project");
    s.add(&pp("/groups_types/"), "get", app.list_types());
    s.add(&pp("/groups_types/update_metadata"), "patch", app.patch_types(
        &json!([{"group_type_index": 0, "name_singular": "company", "name_plural": "companies"}])));
    s.add(
        &pp("/groups_types/set_default_columns"),
        "put",
        app.put_columns(&json!({"group_type_index": 0, "default_columns": ["name"]})),
    );
    s.add(&pp("/groups/"), "post", app.create_group(
        &json!({"group_type_index": 0, "group_key": "acme", "group_properties": {"name": "Acme", "seats": 3}})));
    app.new_group(1, "p1", json!({"name": "P1"}));
    let sent = app.capture(
        "/e/",
        &json!({"api_key": app.token(), "event": "$pageview",
        "distinct_id": "u1", "timestamp": "2026-05-30T00:00:00Z",
        "properties": {"$groups": {"company": "acme", "project": "p1"}}}),
    );
    s.add("/e/", "post", sent);
    s.add("/batch/", "post", app.capture("/batch/", &json!({"api_key": app.token(), "batch": [
        {"event": "$groupidentify", "distinct_id": "u1", "timestamp": "2026-05-30T00:00:01Z",
         "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"plan": "pro"}}}]})));
    s.add(
        &pp("/groups/"),
        "get",
        app.list_groups("group_type_index=0"),
    );
    s.add(&pp("/groups/find"), "get", app.find(0, "acme"));
    s.add(
        &pp("/groups/update_property"),
        "post",
        app.update_property(
            "group_type_index=0&group_key=acme",
            &json!({"key": "tier", "value": 1}),
        ),
    );
    s.add(
        &pp("/groups/delete_property"),
        "post",
        app.delete_property(
            "group_type_index=0&group_key=acme",
            &json!({"$unset": "tier"}),
        ),
    );
    s.add(
        &pp("/groups/activity"),
        "get",
        app.activity("group_type_index=0&group_key=acme"),
    );
    s.add(
        &pp("/groups/property_definitions"),
        "get",
        app.property_definitions(),
    );
    s.add(
        &pp("/groups/property_values"),
        "get",
        app.property_values("group_type_index=0&key=name"),
    );
    s.add(
        &pp("/property_definitions/"),
        "get",
        app.get(&p("/property_definitions/?type=group&group_type_index=0")),
    );
    let related = s.add(
        &pp("/groups/related"),
        "get",
        app.get(&p("/groups/related?group_type_index=0&id=acme")),
    );
    assert!(
        related.as_array().is_some_and(|a| a.len() == 2),
        "{related}"
    );
    s.add(
        &pp("/groups/property_history"),
        "get",
        app.get(&p(
            "/groups/property_history?group_type_index=0&group_key=acme",
        )),
    );
    s.add(
        &pp("/groups/changes"),
        "get",
        app.get(&p("/groups/changes?since=0")),
    );
    s.add(&pp("/ingestion_warnings"), "get", app.warnings());
    s.add(
        &pp("/query/"),
        "post",
        app.query("SELECT key, properties.name FROM groups WHERE index = 0"),
    );

    let one = "/groups_types/{group_type_index}/groups/{group_key}";
    s.add(
        &pp("/groups_types/{group_type_index}/groups/"),
        "get",
        app.get(&p("/groups_types/0/groups/")),
    );
    s.add(&pp(one), "get", app.get(&p("/groups_types/0/groups/acme")));
    s.add(
        &pp(one),
        "patch",
        app.call_json(
            "PATCH",
            &p("/groups_types/0/groups/acme"),
            &json!({"$set": {"seats": 4}, "$unset": ["plan"]}),
        ),
    );
    s.add(
        &pp(&format!("{one}/history")),
        "get",
        app.get(&p("/groups_types/0/groups/acme/history")),
    );

    let (status, text) = {
        let r = app
            .request("GET", &p("/groups/export?group_type_index=0"))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    assert_eq!(status, 200, "{text}");
    for line in text.lines() {
        s.add_line(
            &pp("/groups/export"),
            "get",
            serde_json::from_str(line).unwrap(),
        );
    }
    let line =
        json!({"group_type": "company", "group_key": "initech", "$set": {"name": "Initech"}});
    s.add(
        &pp("/groups/import"),
        "post",
        app.call_raw(
            "POST",
            &p("/groups/import"),
            "application/x-ndjson",
            format!("{line}\n"),
        ),
    );

    let metrics = "/groups_types/{group_type_index}/metrics/";
    let m = s.add(&pp(metrics), "post", app.call_json("POST", &p("/groups_types/0/metrics/"),
        &json!({"name": "Views", "filters": {"events": [{"id": "$pageview"}]}, "display": "sparkline"})));
    let id = m["id"].as_str().unwrap().to_owned();
    s.add(&pp(metrics), "get", app.get(&p("/groups_types/0/metrics/")));
    let mpath = format!("{metrics}{{id}}/");
    let murl = p(&format!("/groups_types/0/metrics/{id}/"));
    s.add(&pp(&mpath), "get", app.get(&murl));
    s.add(
        &pp(&mpath),
        "put",
        app.call_json(
            "PUT",
            &murl,
            &json!({"name": "Views", "filters": {"events": [{"id": "$pageview"}]}}),
        ),
    );
    s.add(
        &pp(&mpath),
        "patch",
        app.call_json("PATCH", &murl, &json!({"interval": 30})),
    );
    s.add(&pp("/query/"), "post", app.call_json("POST", &p("/query/"),
        &json!({"query": {"kind": "UsageMetricsQuery", "group_type_index": 0, "group_key": "acme"}})));
    s.add(
        &pp("/groups/bulk_delete"),
        "post",
        app.call_json(
            "POST",
            &p("/groups/bulk_delete"),
            &json!({"group_type_index": 0, "group_keys": ["initech", "nobody"]}),
        ),
    );

    s.add("/api/projects/", "get", app.list_projects());
    let project = s.add(
        "/api/projects/",
        "post",
        app.create_project(&json!({"name": "Second"})),
    );
    let second = project["id"].to_string();
    s.add(&pp("/"), "get", app.get_project(&second));
    s.add(
        &pp("/"),
        "patch",
        app.patch_project(&second, &json!({"name": "Two"})),
    );
    s.add("/api/personal_api_keys/", "get", app.list_keys());
    let key = s.add(
        "/api/personal_api_keys/",
        "post",
        app.create_key(&json!({"label": "reader", "scopes": ["group:read"]})),
    );
    s.add(
        "/api/personal_api_keys/{id}/",
        "get",
        app.get(&app.url(&format!("/api/personal_api_keys/{}/", key["id"]))),
    );
    s.add("/api/users/@me/", "get", app.me());
    s.add("/_health", "get", app.anonymous().get(&app.url("/_health")));

    assert!(s.0.len() >= 42, "{}", s.0.len());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("samples.json");
    std::fs::write(&file, json!({"doc": doc, "samples": s.0}).to_string()).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             d = json.load(open(sys.argv[1])); doc = d['doc']; bad = 0\n\
             for s in d['samples']:\n\
             \x20   name = f\"{s['method']} {s['path']} {s['status']}\"\n\
             \x20   try: schema = doc['paths'][s['path']][s['method']]['responses'][s['status']]['content'][s['content_type']]['schema']\n\
             \x20   except KeyError as e: print(name, 'not documented:', e); bad += 1; continue\n\
             \x20   root = dict(schema, components=doc['components'])\n\
             \x20   for e in jsonschema.Draft202012Validator(root).iter_errors(s['body']):\n\
             \x20       print(name, list(e.absolute_path), e.message[:300]); bad += 1\n\
             sys.exit(1 if bad else 0)",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "answers that do not match /api/schema/:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
