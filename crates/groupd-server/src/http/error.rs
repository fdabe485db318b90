//! The one error type of the HTTP API. Every failure, whatever the route, becomes the spec's
//! `{"type", "code", "detail", "attr"}` body with its status; internal causes go to the log only.
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
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

    /// An error with every part given (capture's errors carry their own).
    pub fn from_parts(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        detail: impl Into<String>,
        attr: Option<&str>,
    ) -> Self {
        let mut e = Self::new(status, kind, code, detail);
        e.attr = attr.map(str::to_owned);
        e
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
            e @ (StoreError::Config(_) | StoreError::Internal(_)) => Self::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(error = ?cause, "request failed");
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
