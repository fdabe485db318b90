//! Route registration: every path with and without its trailing slash, and a 405 in the error
//! shape for any method a path does not serve (standard or not: `PUT`, `QUERY`, `TRACE`, …).
use std::cell::RefCell;

use axum::{
    Router,
    http::Method,
    response::{IntoResponse, Response},
    routing::MethodRouter,
};

use super::error::ApiError;
use crate::state::AppState;

thread_local! {
    /// The paths [`route`] registers while [`recorded`] runs on this thread.
    static RECORDING: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Registers `methods` at `path` and `path/`.
pub fn route(path: &str, methods: MethodRouter<AppState>) -> Router<AppState> {
    let methods = methods.fallback(method_not_allowed);
    let bare = path.trim_end_matches('/');
    RECORDING.with_borrow_mut(|r| {
        if let Some(r) = r {
            r.push(bare.to_owned());
        }
    });
    Router::new()
        .route(bare, methods.clone())
        .route(&format!("{bare}/"), methods)
}

/// What `build` returns, and the paths (without their trailing slash) it registered by [`route`].
pub fn recorded<R>(build: impl FnOnce() -> R) -> (R, Vec<String>) {
    let outer = RECORDING.replace(Some(Vec::new()));
    let built = build();
    let paths = RECORDING.replace(outer).unwrap_or_default();
    (built, paths)
}

async fn method_not_allowed(method: Method) -> Response {
    ApiError::method_not_allowed(method.as_str()).into_response()
}

/// Answer for paths no route serves.
pub async fn not_found() -> Response {
    ApiError::not_found().into_response()
}
