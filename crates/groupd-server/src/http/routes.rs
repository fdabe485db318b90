//! Route registration: every path with and without its trailing slash, and a 405 in the error
//! shape for any method a path does not serve (standard or not: `PUT`, `QUERY`, `TRACE`, …).
use axum::{
    Router,
    http::Method,
    response::{IntoResponse, Response},
    routing::MethodRouter,
};

use super::error::ApiError;
use crate::state::AppState;

/// Registers `methods` at `path` and `path/`.
pub fn route(path: &str, methods: MethodRouter<AppState>) -> Router<AppState> {
    let methods = methods.fallback(method_not_allowed);
    let bare = path.trim_end_matches('/');
    Router::new()
        .route(bare, methods.clone())
        .route(&format!("{bare}/"), methods)
}

async fn method_not_allowed(method: Method) -> Response {
    ApiError::method_not_allowed(method.as_str()).into_response()
}

/// Answer for paths no route serves.
pub async fn not_found() -> Response {
    ApiError::not_found().into_response()
}
