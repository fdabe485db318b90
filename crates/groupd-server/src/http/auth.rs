//! Authentication, project resolution and scopes, in the spec's order: credentials (401), project
//! (404 / 403), scope (403). The request's body is read here, since a key may sit in it; handlers
//! then parse it (input errors come last).
use axum::{
    extract::{FromRequest, RawPathParams, Request},
    http::{HeaderMap, header},
};
use groupd_core::{Actor, Scope, SecretDigest};
use groupd_store::{ApiKey, Project};
use serde_json::Value;

use super::{
    error::{ApiError, ApiResult},
    request::RequestInfo,
};
use crate::state::AppState;

/// An authenticated REST request: its key, the project of its path (if the path has one), its
/// query parameters and raw body.
pub struct Api {
    /// The key that authenticated the request.
    pub key: ApiKey,
    /// The project named by `:project_id`, access already checked.
    pub project: Option<Project>,
    /// Query parameters, URL, body.
    pub req: RequestInfo,
}

impl Api {
    /// Fails with 403 unless the key grants `scope`.
    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.key.scopes.grants(scope) {
            Ok(())
        } else {
            Err(ApiError::permission_denied(format!(
                "API key missing required scope '{scope}'"
            )))
        }
    }

    /// The project of the path; routes without `:project_id` never call this.
    pub fn project(&self) -> &Project {
        self.project
            .as_ref()
            .expect("route has a :project_id segment")
    }

    /// The actor recorded in activity.
    pub fn actor(&self) -> Actor {
        Actor::Key(self.key.label.clone())
    }
}

/// Where a personal API key was found, as the 401 detail names it.
fn find_key(
    headers: &HeaderMap,
    body: &Value,
    query: &[(String, String)],
) -> Option<(String, &'static str)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            let k = v[7..].trim();
            if !k.is_empty() {
                return Some((k.to_owned(), "Authorization header"));
            }
        }
    }
    if let Some(k) = body
        .get("personal_api_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    {
        return Some((k.to_owned(), "body"));
    }
    query
        .iter()
        .rev()
        .find(|(k, v)| k == "personal_api_key" && !v.is_empty())
        .map(|(_, v)| (v.clone(), "query string"))
}

impl FromRequest<AppState> for Api {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let path_params = RawPathParams::from_request_parts(&mut parts, state)
            .await
            .ok();
        let route_has_project = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|m| m.as_str().contains("{project_id}"));
        let project_param = match &path_params {
            Some(p) => p
                .iter()
                .find(|(name, _)| *name == "project_id")
                .map(|(_, v)| v.to_owned()),
            // Some segment is not UTF-8 once decoded: read the project's own segment directly.
            None if route_has_project => Some(project_segment(&parts)),
            None => None,
        };
        let info = RequestInfo::read(parts, body, state.config.max_rest_body_bytes).await?;

        // 1. Credentials.
        let body_json = info.body_for_auth();
        let (plaintext, place) = find_key(&info.headers, &body_json, &info.query)
            .ok_or_else(ApiError::not_authenticated)?;
        let digest = SecretDigest::of(&plaintext);
        let key = match state.keys.get(&digest.0) {
            Some(k) => k,
            None => {
                let k = state
                    .store
                    .api_key_by_digest(&digest)
                    .await?
                    .ok_or_else(|| ApiError::authentication_failed(place))?;
                state.keys.insert(digest.0, k.clone());
                k
            }
        };

        // 2. Project.
        let project = match project_param {
            None => None,
            Some(p) => Some(resolve_project(state, &key, &p).await?),
        };
        if let Some(p) = &project {
            tracing::Span::current().record("project", p.id.0);
        }
        Ok(Api {
            key,
            project,
            req: info,
        })
    }
}

use axum::extract::FromRequestParts;

/// The decoded `:project_id` segment of the request's path (`""` when it is not UTF-8, which
/// names no project), for when the router could not decode every path parameter.
fn project_segment(parts: &axum::http::request::Parts) -> String {
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path().to_owned(), |o| o.0.path().to_owned());
    let raw = path.split('/').nth(3).unwrap_or("");
    percent_decode(raw).unwrap_or_default()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `:project_id` → a project the key may access: an integer id or `@current` (the lowest id the
/// key can access).
async fn resolve_project(state: &AppState, key: &ApiKey, param: &str) -> ApiResult<Project> {
    let not_found = || ApiError::not_found_with("Project not found.");
    if param == "@current" {
        let all = state.store.list_projects().await?;
        return all
            .into_iter()
            .find(|p| key.may_access(p.id))
            .ok_or_else(not_found);
    }
    let id: i64 = param.parse().map_err(|_| not_found())?;
    let project = match state.projects.get(&id) {
        Some(p) => p,
        None => {
            let p = state
                .store
                .get_project(groupd_core::ProjectId(id))
                .await?
                .ok_or_else(not_found)?;
            state.projects.insert(id, p.clone());
            p
        }
    };
    if !key.may_access(project.id) {
        return Err(ApiError::permission_denied(format!(
            "API key does not have access to the requested project: ID {}.",
            project.id
        )));
    }
    Ok(project)
}
