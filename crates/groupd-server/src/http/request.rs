//! What handlers read from a request: query parameters (Django semantics: the last of repeated
//! names wins), the body (bounded), and the pieces needed to build absolute `next` URLs.
use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, Uri, header, request::Parts},
};
use http_body_util::BodyExt;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

/// Reads at most `limit` bytes of body. Beyond it, reads and discards up to another `limit` so
/// the client gets to read the 413 instead of a reset connection; `Err(None)` = too large.
pub async fn read_bounded(mut body: Body, limit: usize) -> Result<Vec<u8>, Option<ApiError>> {
    let mut buf = Vec::new();
    let mut over = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Some(ApiError::validation(
                "invalid_input",
                "The request body could not be read.",
                None,
            )));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if over > 0 || buf.len() + data.len() > limit {
            over += data.len();
            if over > limit {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    if over > 0 {
        // Too large: the caller answers 413 in its own words.
        return Err(None);
    }
    Ok(buf)
}

/// The parts of a request a REST handler reads.
pub struct RequestInfo {
    /// Request headers.
    pub headers: HeaderMap,
    /// The request URI.
    pub uri: Uri,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
}

impl RequestInfo {
    /// Reads the request's body up to `limit` bytes (413 beyond).
    pub async fn read(parts: Parts, body: Body, limit: usize) -> ApiResult<Self> {
        let body = Bytes::from(read_bounded(body, limit).await.map_err(|e| {
            e.unwrap_or_else(|| ApiError::payload_too_large("The request body", limit))
        })?);
        // Nested routers see a stripped path; `next` links need the one the client used.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(parts.uri, |o| o.0.clone());
        Ok(Self::new(parts.headers, uri, body))
    }

    /// A request of `uri` (its query decoded) with `headers` and `body`.
    pub fn new(headers: HeaderMap, uri: Uri, body: Bytes) -> Self {
        let query = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self {
            headers,
            uri,
            query,
            body,
        }
    }

    /// A body-less request of `path_and_query`, for unit tests of the request types.
    #[cfg(test)]
    pub fn for_test(path_and_query: &str) -> Self {
        Self::new(
            HeaderMap::new(),
            path_and_query.parse().expect("a valid URI"),
            Bytes::new(),
        )
    }

    /// The last value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The last value of `name` when present and non-empty.
    pub fn non_empty_param(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }

    fn content_type(&self) -> Option<String> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty())
    }

    /// The body as JSON, leniently, only to look for `personal_api_key`: never an error.
    pub fn body_for_auth(&self) -> Value {
        self.parse_body().unwrap_or(Value::Null)
    }

    /// The body as a JSON value: JSON, or a flat form (`application/x-www-form-urlencoded`) read
    /// as an object of strings. An empty body is `{}`.
    pub fn json_body(&self) -> ApiResult<Value> {
        self.parse_body()
    }

    fn parse_body(&self) -> ApiResult<Value> {
        let ct = self.content_type();
        match ct.as_deref() {
            // `curl -d '{…}'` without `-H 'Content-Type: application/json'`: read as a form it
            // would have no fields, and every required one would be reported missing.
            Some("application/x-www-form-urlencoded") if self.looks_like_json() => {
                Err(ApiError::validation(
                    "invalid_input",
                    "The body is JSON but was sent as application/x-www-form-urlencoded \
                     (what curl -d sends): add the header Content-Type: application/json.",
                    None,
                ))
            }
            Some("application/x-www-form-urlencoded") => Ok(Value::Object(
                form_urlencoded::parse(&self.body)
                    .into_owned()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect::<Map<_, _>>(),
            )),
            None | Some("application/json") => self.parse_json(),
            Some(t) if t.ends_with("+json") => self.parse_json(),
            Some(t) => Err(ApiError::unsupported_media_type(t)),
        }
    }

    fn looks_like_json(&self) -> bool {
        let text = self.body.trim_ascii_start();
        matches!(text.first(), Some(b'{' | b'['))
            && serde_json::from_slice::<serde::de::IgnoredAny>(&self.body).is_ok()
    }

    fn parse_json(&self) -> ApiResult<Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        // A parsed value costs tens of bytes per JSON value however short its text (`0,` is
        // two bytes): counted first, so a body's memory stays a small multiple of its size.
        if json_values_at_least(&self.body, MAX_JSON_VALUES + 1) {
            return Err(ApiError::too_many_json_values(MAX_JSON_VALUES));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::validation("parse_error", format!("JSON parse error - {e}"), None)
        })
    }

    /// `scheme://host` of the request as the client addressed it.
    pub fn origin(&self) -> String {
        let h = |name: &str| {
            self.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let scheme = h("x-forwarded-proto").unwrap_or_else(|| "http".into());
        let host = h("x-forwarded-host")
            .or_else(|| h("host"))
            .or_else(|| self.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".into());
        format!("{scheme}://{host}")
    }

    /// An absolute URL of this request's path with `params` as its query.
    pub fn url_with(&self, params: &[(&str, String)]) -> String {
        let mut url = format!("{}{}", self.origin(), self.uri.path());
        for (i, (k, v)) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&quote_plus(k));
            url.push('=');
            url.push_str(&quote_plus(v));
        }
        url
    }
}

/// A percent-encoded path segment as text; `None` when its bytes are not UTF-8 once decoded.
/// A `%` not followed by two hex digits stays as it is.
pub fn percent_decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Python's `urllib.parse.quote_plus`: unreserved characters stay, space becomes `+`, the rest
/// is percent-encoded (upper-case hex), as PostHog's `next` URLs are.
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{percent_decode, quote_plus};

    #[test]
    fn percent_decode_keeps_stray_percents_and_refuses_non_utf8() {
        assert_eq!(percent_decode("%40current").as_deref(), Some("@current"));
        assert_eq!(percent_decode("%ZZ%4").as_deref(), Some("%ZZ%4"));
        assert_eq!(percent_decode("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("0%C3%28"), None);
    }

    #[test]
    fn quote_plus_matches_python() {
        assert_eq!(quote_plus("a b/c=d&é~"), "a+b%2Fc%3Dd%26%C3%A9~");
    }
}

/// Most JSON values (scalars, arrays, objects) one REST body may hold.
pub const MAX_JSON_VALUES: usize = 100_000;

/// True when `json` holds at least `n` values, judged from its structure: every value but the
/// first follows a `,` or opens a container (`[`, `{`), outside strings. An upper bound on
/// what parsing would allocate, found in one pass without allocating.
fn json_values_at_least(json: &[u8], n: usize) -> bool {
    let (mut count, mut in_string, mut escaped) = (1usize, false, false);
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b'[' | b'{' => {
                count += 1;
                if count >= n {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod value_count_tests {
    use super::json_values_at_least;

    #[test]
    fn values_are_counted_outside_strings_only() {
        assert!(json_values_at_least(b"[0,0,0]", 4));
        assert!(!json_values_at_least(b"[0,0,0]", 6));
        assert!(!json_values_at_least(br#"{"a": "[,,,,{{{{"}"#, 4));
        assert!(!json_values_at_least(br#"{"a": "\",[[[[[[", "b": 1}"#, 6));
        assert!(json_values_at_least(&b"[0,".repeat(10), 10));
    }
}
