//! One method per route, each answering `(status, JSON body)` (`Null` when the body is empty or
//! not JSON). Paths under a project use the client's project; the key is sent as a bearer token.
use std::fmt::Display;

use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use serde_json::{Value, json};

/// Status and JSON body (Null when the body is empty or not JSON).
pub fn read(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An HTTP client of one server, with a key (or none) and a project.
#[derive(Clone)]
pub struct ApiClient {
    /// The HTTP client (its connections are shared by every copy).
    pub client: Client,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    key: Option<String>,
    project: String,
}

impl ApiClient {
    /// A client of the server at `base` with `key`, on `project`.
    pub fn for_server(base: &str, key: &str, project: i64) -> Self {
        let client = Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            client,
            base: base.to_owned(),
            key: Some(key.to_owned()),
            project: project.to_string(),
        }
    }

    /// The same server with another key.
    pub fn as_key(&self, key: &str) -> Self {
        Self {
            key: Some(key.to_owned()),
            ..self.clone()
        }
    }

    /// The same server without credentials.
    pub fn anonymous(&self) -> Self {
        Self {
            key: None,
            ..self.clone()
        }
    }

    /// The same server and key on another project segment (an id, `@current`, anything).
    pub fn in_project(&self, project: impl Display) -> Self {
        Self {
            project: project.to_string(),
            ..self.clone()
        }
    }

    /// The same key and project on another server (`base` = `http://host:port`).
    pub fn on(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    /// An absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `/api/projects/{project}{rest}`.
    pub fn purl(&self, rest: &str) -> String {
        self.url(&format!("/api/projects/{}{rest}", self.project))
    }

    /// A request with any method to an absolute `url`, with the client's key.
    pub fn request(&self, method: &str, url: &str) -> RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self.client.request(method, url);
        match &self.key {
            Some(k) => r.bearer_auth(k),
            None => r,
        }
    }

    /// Sends `method url` without a body.
    pub fn call(&self, method: &str, url: &str) -> (u16, Value) {
        read(self.request(method, url).send().unwrap())
    }

    /// Sends `method url` with a JSON body.
    pub fn call_json(&self, method: &str, url: &str, body: &Value) -> (u16, Value) {
        read(self.request(method, url).json(body).send().unwrap())
    }

    /// Sends `method url` with a body of any content type.
    pub fn call_raw(
        &self,
        method: &str,
        url: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> (u16, Value) {
        read(
            self.request(method, url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .unwrap(),
        )
    }

    /// `GET url` (absolute), e.g. a `next` link.
    pub fn get(&self, url: &str) -> (u16, Value) {
        self.call("GET", url)
    }

    /// `?{query}` (a `?` already there is kept once), or nothing for an empty query.
    fn q(query: &str) -> String {
        let query = query.strip_prefix('?').unwrap_or(query);
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    }

    // Groups ----------------------------------------------------------------------------------

    /// `GET /groups/?{query}`.
    pub fn list_groups(&self, query: &str) -> (u16, Value) {
        self.get(&self.purl(&format!("/groups/{}", Self::q(query))))
    }

    /// `GET /groups/find?{query}`.
    pub fn find_group(&self, query: &str) -> (u16, Value) {
        self.get(&self.purl(&format!("/groups/find{}", Self::q(query))))
    }

    /// `GET /groups/find` of one group (the key sent as is: it must need no encoding).
    pub fn find(&self, index: i64, key: &str) -> (u16, Value) {
        self.find_group(&format!("group_type_index={index}&group_key={key}"))
    }

    /// `POST /groups/`.
    pub fn create_group(&self, body: &Value) -> (u16, Value) {
        self.call_json("POST", &self.purl("/groups/"), body)
    }

    /// `POST /groups/update_property?{query}`.
    pub fn update_property(&self, query: &str, body: &Value) -> (u16, Value) {
        let url = self.purl(&format!("/groups/update_property{}", Self::q(query)));
        self.call_json("POST", &url, body)
    }

    /// `POST /groups/delete_property?{query}`.
    pub fn delete_property(&self, query: &str, body: &Value) -> (u16, Value) {
        let url = self.purl(&format!("/groups/delete_property{}", Self::q(query)));
        self.call_json("POST", &url, body)
    }

    /// `GET /groups/activity?{query}`.
    pub fn activity(&self, query: &str) -> (u16, Value) {
        self.get(&self.purl(&format!("/groups/activity{}", Self::q(query))))
    }

    /// `GET /groups/property_definitions`.
    pub fn property_definitions(&self) -> (u16, Value) {
        self.get(&self.purl("/groups/property_definitions"))
    }

    /// `GET /groups/property_values?{query}`.
    pub fn property_values(&self, query: &str) -> (u16, Value) {
        self.get(&self.purl(&format!("/groups/property_values{}", Self::q(query))))
    }

    // Group types -----------------------------------------------------------------------------

    /// `GET /groups_types/`.
    pub fn list_types(&self) -> (u16, Value) {
        self.get(&self.purl("/groups_types/"))
    }

    /// `POST /groups_types/`.
    pub fn create_type(&self, body: &Value) -> (u16, Value) {
        self.call_json("POST", &self.purl("/groups_types/"), body)
    }

    /// `PATCH /groups_types/update_metadata`.
    pub fn patch_types(&self, body: &Value) -> (u16, Value) {
        self.call_json("PATCH", &self.purl("/groups_types/update_metadata"), body)
    }

    /// `PUT /groups_types/set_default_columns`.
    pub fn put_columns(&self, body: &Value) -> (u16, Value) {
        self.call_json("PUT", &self.purl("/groups_types/set_default_columns"), body)
    }

    /// `DELETE /groups_types/{index}` (the segment as given).
    pub fn delete_type(&self, index: &str) -> (u16, Value) {
        self.call("DELETE", &self.purl(&format!("/groups_types/{index}")))
    }

    // Projects, warnings, query -----------------------------------------------------------------

    /// `GET /api/projects/`.
    pub fn list_projects(&self) -> (u16, Value) {
        self.get(&self.url("/api/projects/"))
    }

    /// `POST /api/projects/`.
    pub fn create_project(&self, body: &Value) -> (u16, Value) {
        self.call_json("POST", &self.url("/api/projects/"), body)
    }

    /// `GET /api/projects/{id}/` (the segment as given).
    pub fn get_project(&self, id: &str) -> (u16, Value) {
        self.get(&self.url(&format!("/api/projects/{id}/")))
    }

    /// `PATCH /api/projects/{id}/` (the segment as given).
    pub fn patch_project(&self, id: &str, body: &Value) -> (u16, Value) {
        self.call_json("PATCH", &self.url(&format!("/api/projects/{id}/")), body)
    }

    /// `GET /api/personal_api_keys/`.
    pub fn list_keys(&self) -> (u16, Value) {
        self.get(&self.url("/api/personal_api_keys/"))
    }

    /// `POST /api/personal_api_keys/`.
    pub fn create_key(&self, body: &Value) -> (u16, Value) {
        self.call_json("POST", &self.url("/api/personal_api_keys/"), body)
    }

    /// `DELETE /api/personal_api_keys/{id}/` (the segment as given).
    pub fn delete_key(&self, id: &str) -> (u16, Value) {
        self.call(
            "DELETE",
            &self.url(&format!("/api/personal_api_keys/{id}/")),
        )
    }

    /// `GET /api/users/@me/`.
    pub fn me(&self) -> (u16, Value) {
        self.get(&self.url("/api/users/@me/"))
    }

    /// `GET /ingestion_warnings`.
    pub fn warnings(&self) -> (u16, Value) {
        self.get(&self.purl("/ingestion_warnings"))
    }

    /// `POST /query/` of one HogQL text.
    pub fn query(&self, text: &str) -> (u16, Value) {
        let body = json!({"query": {"kind": "HogQLQuery", "query": text}});
        self.call_json("POST", &self.purl("/query/"), &body)
    }

    // Capture and operations (no key) -----------------------------------------------------------

    /// `POST {path}` of a JSON capture payload.
    pub fn capture(&self, path: &str, body: &Value) -> (u16, Value) {
        self.capture_raw(path, "application/json", body.to_string())
    }

    /// `POST {path}` of a capture body of any content type.
    pub fn capture_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> (u16, Value) {
        self.anonymous()
            .call_raw("POST", &self.url(path), content_type, body)
    }

    /// `GET /metrics`, as text.
    pub fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    }
}
