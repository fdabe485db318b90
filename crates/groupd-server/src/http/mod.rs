//! The HTTP API: one module per resource, each exporting `router()`; this module merges them
//! and adds the layers every route shares.
pub mod auth;
mod capture;
mod changes;
pub mod error;
mod events_view;
mod exchange;
mod fields;
mod group_paths;
mod group_types;
mod groups;
mod lifecycle;
mod middleware;
mod openapi;
mod ops;
mod paging;
mod personal_api_keys;
mod projects;
mod property_definitions;
mod query;
mod related;
pub mod request;
mod routes;
mod schema;
mod usage_metrics;
mod usage_query;
mod warnings;

use axum::Router;

use crate::state::AppState;

/// `/api/projects` and its alias `/api/environments`.
pub const API_PREFIXES: [&str; 2] = ["/api/projects", "/api/environments"];

/// The routes under a project prefix (`/api/projects/{project_id}`).
fn per_project() -> Router<AppState> {
    Router::new()
        .merge(groups::router())
        .merge(exchange::router())
        .merge(group_paths::router())
        .merge(lifecycle::router())
        .merge(changes::router())
        .merge(warnings::router())
        .merge(query::router())
        .merge(group_types::router())
        .merge(related::router())
        .merge(usage_metrics::router())
        .merge(property_definitions::router())
}

/// The REST routes outside a project prefix.
fn unprefixed() -> Router<AppState> {
    Router::new()
        .merge(projects::router())
        .merge(personal_api_keys::router())
}

/// Capture and the operational routes (no personal API key, no REST CORS).
fn outer() -> Router<AppState> {
    Router::new().merge(ops::router()).merge(capture::router())
}

/// Every API path the application serves (each also with a trailing slash), as OpenAPI writes
/// them (`/api/projects/{project_id}/groups`): the REST API, capture and the operational routes;
/// not the web UI's pages, nor the benchmark route. `/api/schema/` must document them all
/// (`tests/api/openapi.rs`).
pub fn api_paths() -> Vec<String> {
    let (_, relative) = routes::recorded(per_project);
    let (_, rest) = routes::recorded(unprefixed);
    let (_, outer) = routes::recorded(outer);
    let mut paths: Vec<String> = API_PREFIXES
        .iter()
        .flat_map(|prefix| {
            relative
                .iter()
                .map(move |p| format!("{prefix}/{{project_id}}{p}"))
        })
        .chain(rest)
        .chain(outer)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let bench = state.config.enable_bench_routes;
    let per_project = per_project();
    let mut rest = Router::new();
    for prefix in API_PREFIXES {
        rest = rest.nest(&format!("{prefix}/{{project_id}}"), per_project.clone());
    }
    let rest = rest
        .merge(unprefixed())
        .layer(rest_cors(&state.config.cors_origins))
        .layer(axum::middleware::from_fn(
            middleware::plain_options_not_allowed,
        ));
    // The UI acts through the REST router itself (one code path); `--no-ui` leaves its paths to
    // the 404 fallback.
    let ui = if state.config.no_ui {
        Router::new()
    } else {
        crate::ui::router(crate::ui::Rest(rest.clone().with_state(state.clone())))
    };
    Router::new()
        .merge(rest)
        .merge(ui)
        .merge(outer())
        .merge(if bench {
            ops::bench_router()
        } else {
            Router::new()
        })
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .with_state(state)
}

/// CORS for the REST API: preflights are answered here (never a 405), and only the listed origins
/// are allowed; keys travel in the Authorization header, so no cookies are involved.
fn rest_cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderValue, Method, header};
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim().trim_end_matches('/')).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3600))
}
