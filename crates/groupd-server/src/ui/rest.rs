//! The UI's way to the REST API: an internal request through the REST router, with the session's
//! key attached as an extension (the router's authentication takes it as is), so every rule the
//! API applies is applied here too.
use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use groupd_store::ApiKey;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::http::auth::SessionKey;

/// The REST router, with its state.
#[derive(Clone)]
pub struct Rest(pub Router);

/// A refusal from the REST API: its status and its message.
#[derive(Debug)]
pub struct RestError {
    /// The REST status.
    pub status: StatusCode,
    /// The REST `detail`.
    pub detail: String,
    /// The REST `attr`, if any.
    pub attr: Option<String>,
}

impl Rest {
    /// Sends `method path_and_query` with a JSON `body` as `key`; the JSON answer, `Null` for
    /// 204, or the refusal.
    pub async fn call(
        &self,
        key: &ApiKey,
        method: Method,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Result<Value, RestError> {
        let internal = |detail: String| RestError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail,
            attr: None,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(header::HOST, "localhost");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let mut req = req
            .body(body)
            .map_err(|e| internal(format!("bad internal request: {e}")))?;
        req.extensions_mut().insert(SessionKey(key.clone()));
        let resp = match self.0.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| internal(format!("unreadable internal answer: {e}")))?
            .to_bytes();
        let json: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(json);
        }
        Err(RestError {
            status,
            detail: json
                .get("detail")
                .and_then(Value::as_str)
                .unwrap_or("A server error occurred.")
                .to_owned(),
            attr: json.get("attr").and_then(Value::as_str).map(str::to_owned),
        })
    }

    /// `GET` as `key`.
    pub async fn get(&self, key: &ApiKey, path_and_query: &str) -> Result<Value, RestError> {
        self.call(key, Method::GET, path_and_query, None).await
    }
}

/// `s` percent-encoded for a query value or path segment.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
