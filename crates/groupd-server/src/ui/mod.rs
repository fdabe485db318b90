//! The web UI (`ui.md`): server-rendered pages (askama templates in `templates/`), htmx for live
//! search and partial swaps, SVG charts drawn here. One module per page.
//!
//! Every read and write goes through the REST router itself ([`rest::Rest`]): the UI sends it an
//! internal request carrying the session's key, so scopes, validation, store calls, activity and
//! error messages are exactly the REST API's (one code path, no private shortcuts).
mod assets;
mod create;
mod events;
mod group;
mod layout;
mod lifecycle;
mod list;
mod properties;
mod rest;
mod session;
mod settings;
mod sql;
mod svg;

use axum::{
    Extension, Router,
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};

use crate::state::AppState;
pub use rest::Rest;

/// The UI's routes; `rest` is the REST router every action goes through.
pub fn router(rest: Rest) -> Router<AppState> {
    Router::new()
        .route("/", get(layout::home))
        .route("/ui", get(layout::home))
        .route("/ui/", get(layout::home))
        .route("/ui/login", get(session::login_form).post(session::login))
        .route("/ui/logout", post(session::logout))
        .route("/ui/assets/{file}", get(assets::serve))
        .route("/ui/projects/{project_id}", get(layout::project_home))
        .route("/ui/projects/{project_id}/types/{index}", get(list::page))
        .route(
            "/ui/projects/{project_id}/types/{index}/new",
            get(create::form).post(create::submit),
        )
        .route(
            "/ui/projects/{project_id}/types/{index}/group",
            get(group::page),
        )
        .route(
            "/ui/projects/{project_id}/types/{index}/group/property",
            post(properties::save),
        )
        .route(
            "/ui/projects/{project_id}/types/{index}/group/property/delete",
            post(properties::delete),
        )
        .route(
            "/ui/projects/{project_id}/types/{index}/group/delete",
            post(lifecycle::delete),
        )
        .route("/ui/projects/{project_id}/sql", get(sql::page))
        .route(
            "/ui/projects/{project_id}/settings",
            get(settings::get_page).post(settings::submit),
        )
        .layer(Extension(rest))
        // Pages and assets compress well (the list page's HTML and htmx to about a quarter):
        // gzip when the browser asks for it (every browser does).
        .layer(tower_http::compression::CompressionLayer::new())
}

/// Answers of UI handlers that are not a page: a redirect, or an error page.
pub enum UiError {
    /// Not signed in (or the session ended): to the sign-in form.
    SignIn,
    /// A page in words, with its status.
    Page(StatusCode, String),
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn => Redirect::to("/ui/login").into_response(),
            UiError::Page(status, message) => {
                let page = layout::ErrorPage {
                    status: status.as_u16(),
                    message,
                };
                (status, render(&page)).into_response()
            }
        }
    }
}

impl From<rest::RestError> for UiError {
    fn from(e: rest::RestError) -> Self {
        UiError::Page(e.status, e.detail)
    }
}

/// A template as HTML; a template that cannot render is a bug (500).
pub fn render<T: askama::Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a UI template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "A server error occurred.",
            )
                .into_response()
        }
    }
}

/// `page` answered with `status`; a refusal also tells htmx not to put the request's URL in the
/// history (a POST's URL cannot be reloaded).
pub fn with_status(status: axum::http::StatusCode, page: Response) -> Response {
    let mut resp = (status, page).into_response();
    if !status.is_success() {
        resp.headers_mut()
            .insert("hx-push-url", axum::http::HeaderValue::from_static("false"));
    }
    resp
}

/// Result of a UI handler.
pub type UiResult<T = Response> = Result<T, UiError>;
