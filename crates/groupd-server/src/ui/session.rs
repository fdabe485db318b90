//! Signing in and out, and the session every page reads.
//!
//! The browser holds only a random session id (40 base62 characters, about 238 bits) in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` behind HTTPS, see [`secure`]); the database holds its SHA-256 digest and the key it acts
//! for, so every groupd process sharing the database knows it. A session ends after 12 hours
//! without use, when its key is revoked (the lookup joins live keys only), or on sign-out.
use axum::{
    Form,
    extract::{FromRequestParts, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use groupd_core::{SecretDigest, generate_secret};
use groupd_store::{ApiKey, NewSession};

use super::{UiError, layout::LoginPage, render};
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "groupd_session";
/// Idle time after which a session ends.
pub const IDLE_US: i64 = 12 * 3600 * 1_000_000;
/// A session's last use is recorded at most this often (a write per minute, not per page).
const TOUCH_EVERY_US: i64 = 60 * 1_000_000;

/// A signed-in request: the session's key and CSRF token.
pub struct Session {
    /// The key the session acts for (live).
    pub key: ApiKey,
    /// The token every changing form must carry.
    pub csrf: String,
    digest: SecretDigest,
}

impl Session {
    /// Whether the key may change groups and types (else no edit control is shown).
    pub fn can_write(&self) -> bool {
        self.key.scopes.grants(groupd_core::Scope::GroupWrite)
    }

    /// 403 unless `form` carries this session's CSRF token (compared in constant time).
    pub fn check_csrf(&self, form: &[(String, String)]) -> Result<(), UiError> {
        let sent = form
            .iter()
            .rev()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let ok = sent.len() == self.csrf.len()
            && SecretDigest::of(sent).matches(&SecretDigest::of(&self.csrf).0);
        if ok {
            Ok(())
        } else {
            Err(UiError::Page(
                StatusCode::FORBIDDEN,
                "CSRF token missing or invalid: reload the page and try again.".into(),
            ))
        }
    }
}

/// The value of cookie `name` in `headers`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Session {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let id = cookie(&parts.headers, COOKIE).ok_or(UiError::SignIn)?;
        let digest = SecretDigest::of(id);
        let now = state.clock.now_us();
        let found = state
            .store
            .find_session(&digest, now - IDLE_US)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot read a UI session");
                UiError::Page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is unavailable; try again.".into(),
                )
            })?
            .ok_or(UiError::SignIn)?;
        if now - found.last_seen_us >= TOUCH_EVERY_US {
            // Awaited: the idle clock must move before the page answers, or a busy session
            // could expire between two pages.
            if let Err(e) = state.store.touch_session(&digest, now).await {
                tracing::warn!(error = %e, "could not record a UI session's use");
            }
        }
        Ok(Session {
            key: found.key,
            csrf: found.csrf_token,
            digest,
        })
    }
}

/// `GET /ui/login`.
pub async fn login_form() -> Response {
    render(&LoginPage { error: None })
}

/// Whether the session cookie gets `Secure`: `--secure-cookies`, or a request that reached groupd
/// through an HTTPS proxy (`X-Forwarded-Proto: https`). A client that sends the header over plain
/// HTTP only gets a cookie its browser will not send back: `Secure` never weakens the cookie.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || headers
            .get_all("x-forwarded-proto")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(',').next())
            .any(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value for session `id` (empty and `Max-Age=0` to clear it).
fn session_cookie(id: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// `POST /ui/login`: a known, live key starts a session; any other shows the REST message.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let key = form
        .iter()
        .find(|(k, _)| k == "personal_api_key")
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    let refuse = |status: StatusCode, message: &str| {
        (
            status,
            render(&LoginPage {
                error: Some(message.to_owned()),
            }),
        )
            .into_response()
    };
    if key.is_empty() {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Authentication credentials were not provided.",
        );
    }
    let found = match state.store.api_key_by_digest(&SecretDigest::of(key)).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "cannot read keys for a UI sign-in");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable; try again.",
            );
        }
    };
    let Some(found) = found else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Personal API key found in request body is invalid.",
        );
    };
    let id = generate_secret("");
    let now = state.clock.now_us();
    let created = state
        .store
        .create_session(NewSession {
            digest: SecretDigest::of(&id),
            key_id: found.id,
            csrf_token: generate_secret(""),
            now_us: now,
            expire_before_us: now - IDLE_US,
        })
        .await;
    if let Err(e) = created {
        tracing::error!(error = %e, "cannot store a UI session");
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable; try again.",
        );
    }
    tracing::info!(key_label = %found.label, "UI sign-in");
    let cookie = session_cookie(&id, IDLE_US / 1_000_000, secure(&state, &headers));
    let mut resp = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// `POST /ui/logout`: ends the session on the server (a copied cookie stops working) and clears
/// the cookie.
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    session.check_csrf(&form)?;
    if let Err(e) = state.store.end_session(&session.digest).await {
        tracing::error!(error = %e, "cannot end a UI session");
        return Err(UiError::Page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable; try again.".into(),
        ));
    }
    let mut resp = Redirect::to("/ui/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, secure(&state, &headers))) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}
