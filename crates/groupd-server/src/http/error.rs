//! The one error type of the HTTP API and the one status map. Every failure, whatever the route
//! (capture included), becomes the `{"type", "code", "detail", "attr"}` body with its status,
//! decided here and nowhere else; internal causes go to the log only, as one line.
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use groupd_core::capture::CaptureError;
use groupd_store::{ConflictOn, StoreError};
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
    detail: String,
    attr: Option<String>,
    retry_after: Option<u64>,
    cause: Option<anyhow::Error>,
}

#[derive(Serialize, utoipa::ToSchema)]
/// The error body of every route.
pub struct ErrorBody<'a> {
    /// `validation_error`, `authentication_error`, `invalid_request`, `throttled_error` or `server_error`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// Machine-readable code, e.g. `invalid_input`, `not_found`.
    code: &'a str,
    /// A human sentence.
    detail: &'a str,
    /// The field or query parameter at fault, if any.
    attr: Option<&'a str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            detail: detail.into(),
            attr: None,
            retry_after: None,
            cause: None,
        }
    }

    /// 400 `validation_error` with `code` on `attr`.
    pub fn validation(code: &'static str, detail: impl Into<String>, attr: Option<&str>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, "validation_error", code, detail);
        e.attr = attr.map(str::to_owned);
        e
    }

    /// 400 `invalid_input` on `attr`.
    pub fn invalid(attr: &str, detail: impl Into<String>) -> Self {
        Self::validation("invalid_input", detail, Some(attr))
    }

    /// 410 `invalid_request` (an expired change-stream cursor).
    pub fn gone(code: &'static str, detail: impl Into<String>, attr: &str) -> Self {
        let mut e = Self::new(StatusCode::GONE, "invalid_request", code, detail);
        e.attr = Some(attr.to_owned());
        e
    }

    /// 400 `required` for a missing body field.
    pub fn required_field(attr: &str) -> Self {
        Self::validation("required", "This field is required.", Some(attr))
    }

    /// 400 for a missing or empty query parameter.
    pub fn required_param(attr: &str) -> Self {
        Self::invalid(attr, "This query parameter is required.")
    }

    /// 400 for a query parameter that must be an integer.
    pub fn not_an_integer(attr: &str) -> Self {
        Self::invalid(attr, "A valid integer is required.")
    }

    /// 401: no credentials at all.
    pub fn not_authenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "not_authenticated",
            "Authentication credentials were not provided.",
        )
    }

    /// 401: a key was given (in `place`) but is unknown.
    pub fn authentication_failed(place: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "authentication_failed",
            format!("Personal API key found in request {place} is invalid."),
        )
    }

    /// 403 with `detail`.
    pub fn permission_denied(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "authentication_error",
            "permission_denied",
            detail,
        )
    }

    /// 404 with `detail`.
    pub fn not_found_with(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "not_found",
            detail,
        )
    }

    /// 404 `Not found.`
    pub fn not_found() -> Self {
        Self::not_found_with("Not found.")
    }

    /// 405 for `method`.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "method_not_allowed",
            format!("Method \"{method}\" not allowed."),
        )
    }

    /// 413, naming the limit.
    pub fn payload_too_large(what: &str, limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "payload_too_large",
            format!("{what} exceeds the limit of {limit} bytes."),
        )
    }

    /// 413 for a JSON body of more values than `limit`, whatever its size in bytes.
    pub fn too_many_json_values(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "payload_too_large",
            format!("The JSON body holds more than {limit} values."),
        )
    }

    /// 413 for an import of more lines than `limit`.
    pub fn too_many_lines(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "payload_too_large",
            format!("The import holds more than {limit} lines."),
        )
    }

    /// 415 for a content type the route does not read.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "unsupported_media_type",
            format!("Unsupported media type \"{content_type}\" in request."),
        )
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(detail: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "unavailable",
            detail,
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 507 with `Retry-After`: the database has no room for the write; nothing was stored.
    pub fn insufficient_storage() -> Self {
        let mut e = Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "server_error",
            "insufficient_storage",
            "The database has no room for this write; nothing was stored. Retry later.",
        );
        e.retry_after = Some(30);
        e
    }

    /// 500: `cause` is logged, the client reads only a generic sentence.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "error",
            "A server error occurred.",
        );
        e.cause = Some(cause.into());
        e
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Status, code, detail and attr, for unit tests of the request types.
    #[cfg(test)]
    pub(crate) fn describe(self) -> (u16, &'static str, String, Option<String>) {
        (self.status.as_u16(), self.code, self.detail, self.attr)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::GroupTypeMissing(i) => Self::invalid(
                "group_type_index",
                format!("Group type {i} does not exist in this project."),
            ),
            StoreError::GroupExists => {
                Self::invalid("detail", "A group with this key already exists")
            }
            StoreError::GroupTypeExists => {
                Self::invalid("group_type", "A group type with this name already exists.")
            }
            StoreError::GroupTypeLimit(n) => Self::invalid(
                "group_type",
                format!("This project already has the maximum of {n} group types."),
            ),
            StoreError::PropertyMissing(p) => Self::invalid(
                "$unset",
                format!("Property '{p}' does not exist on this group."),
            ),
            StoreError::Conflict(ConflictOn::ApiToken) => {
                Self::invalid("api_token", "This api_token is already in use.")
            }
            StoreError::Conflict(ConflictOn::MetricName) => {
                Self::invalid("name", "A metric with this name already exists.")
            }
            StoreError::QueryTimeout => Self::validation(
                "query_timeout",
                "The query ran past its time limit and was cancelled.",
                Some("query"),
            ),
            StoreError::QueryFailed(msg) => Self::validation(
                "invalid_input",
                format!("The query failed: {msg}"),
                Some("query"),
            ),
            StoreError::Busy => Self::unavailable("The server is busy; retry shortly.", 1),
            StoreError::Unavailable(why) => {
                tracing::warn!(reason = %why, "database unavailable");
                Self::unavailable("The database is unavailable; retry shortly.", 2)
            }
            StoreError::StorageFull(why) => {
                tracing::warn!(reason = %why, "database refuses writes");
                Self::insufficient_storage()
            }
            e @ StoreError::Config(_) => Self::internal(e),
            StoreError::Internal(cause) => Self::internal(cause),
        }
    }
}

/// Capture's refusals: 401 for the token, 400 for the payload, 413 for its size.
impl From<CaptureError> for ApiError {
    fn from(e: CaptureError) -> Self {
        let detail = e.to_string();
        match e {
            CaptureError::MissingApiKey => Self::new(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "missing_api_key",
                detail,
            ),
            CaptureError::InvalidApiKey => Self::new(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                "invalid_api_key",
                detail,
            ),
            CaptureError::InvalidPayload(_) => Self::validation("invalid_payload", detail, None),
            CaptureError::UnsupportedCompression(_) => {
                Self::validation("invalid_payload", detail, Some("compression"))
            }
            CaptureError::PayloadTooLarge(_) => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "payload_too_large",
                detail,
            ),
        }
    }
}

/// The cause of a 500 as one log line: every message of the chain, outermost first, joined by
/// `: `. `{:?}` would add a multi-line backtrace per request whenever `RUST_BACKTRACE` is set.
fn cause_line(cause: &anyhow::Error) -> String {
    format!("{cause:#}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(error = %cause_line(cause), "request failed");
        }
        let body = ErrorBody {
            kind: self.kind,
            code: self.code,
            detail: &self.detail,
            attr: self.attr.as_deref(),
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(e: ApiError) -> (u16, &'static str, &'static str, String, Option<String>) {
        (e.status.as_u16(), e.kind, e.code, e.detail, e.attr)
    }

    #[test]
    fn capture_errors_map_to_status_type_code_and_attr() {
        assert_eq!(
            parts(CaptureError::MissingApiKey.into()),
            (
                401,
                "authentication_error",
                "missing_api_key",
                "API key not provided. You can find your project API key in your project settings."
                    .into(),
                None
            )
        );
        assert_eq!(
            parts(CaptureError::InvalidApiKey.into()),
            (
                401,
                "authentication_error",
                "invalid_api_key",
                "Project API key invalid. You can find your project API key in your project settings."
                    .into(),
                None
            )
        );
        assert_eq!(
            parts(CaptureError::body_too_large(20 << 20).into()),
            (
                413,
                "invalid_request",
                "payload_too_large",
                "Request body is larger than the 20971520-byte limit.".into(),
                None
            )
        );
        assert_eq!(
            parts(CaptureError::InvalidPayload("x".into()).into()),
            (400, "validation_error", "invalid_payload", "x".into(), None)
        );
        assert_eq!(
            parts(CaptureError::PayloadTooLarge("y".into()).into()),
            (
                413,
                "invalid_request",
                "payload_too_large",
                "y".into(),
                None
            )
        );
        assert_eq!(
            parts(CaptureError::UnsupportedCompression("zstd".into()).into()),
            (
                400,
                "validation_error",
                "invalid_payload",
                "Unsupported compression: 'zstd'.".into(),
                Some("compression".into())
            )
        );
    }

    #[test]
    fn busy_is_503_with_retry_after() {
        let resp = ApiError::from(StoreError::Busy).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn an_internal_error_tells_the_client_nothing_and_logs_its_chain_on_one_line() {
        let root = std::io::Error::other("disk on fire");
        let cause = anyhow::Error::new(root).context("reading group 7");
        let line = cause_line(&cause);
        assert_eq!(line, "reading group 7: disk on fire");
        let e = ApiError::from(StoreError::Internal(cause));
        assert_eq!(
            parts(e),
            (
                500,
                "server_error",
                "error",
                "A server error occurred.".into(),
                None
            )
        );
    }
}
