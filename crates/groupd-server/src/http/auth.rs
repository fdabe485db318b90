//! Authentication, project resolution and scopes, in the contract's order: credentials (401),
//! project (404 / 403), scope (403), then input (400). The request's body is read here, since a
//! key may sit in it; handlers then parse it.
//!
//! Two extractors: [`Api`] for routes without a project (`/api/projects/`), [`ProjectApi`] for
//! routes under `/api/projects/{project_id}`, which always holds the project it checked.
use std::ops::Deref;

use axum::{
    extract::{FromRequest, FromRequestParts, MatchedPath, OriginalUri, RawPathParams, Request},
    http::{HeaderMap, header, request::Parts},
};
use groupd_core::{Actor, ProjectId, Scope, SecretDigest};
use groupd_store::{ApiKey, Project};
use serde_json::Value;

use super::{
    error::{ApiError, ApiResult},
    request::{RequestInfo, percent_decode},
};
use crate::state::AppState;

/// An authenticated REST request: its key, its query parameters and raw body.
pub struct Api {
    /// The key that authenticated the request.
    pub key: ApiKey,
    /// Query parameters, URL, body.
    pub req: RequestInfo,
}

/// An authenticated request on a route under `/api/projects/{project_id}`, the key's access to
/// that project already checked.
pub struct ProjectApi {
    /// The key and the request.
    pub api: Api,
    /// The project of the path.
    pub project: Project,
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

    /// The body, read by `parse` (a request type's parse step).
    pub fn parse_body<T>(&self, parse: impl FnOnce(Value) -> ApiResult<T>) -> ApiResult<T> {
        parse(self.req.json_body()?)
    }

    /// The actor recorded in activity.
    pub fn actor(&self) -> Actor {
        Actor::Key(self.key.label.clone())
    }
}

impl ProjectApi {
    /// The id of the path's project.
    pub fn project_id(&self) -> ProjectId {
        self.project.id
    }
}

impl Deref for ProjectApi {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

/// A key already authenticated by a web UI session, put on the UI's internal REST requests (an
/// extension: no client can set one). Everything after authentication runs as for any request.
#[derive(Clone)]
pub struct SessionKey(pub ApiKey);

impl FromRequest<AppState> for Api {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = parts.extensions.remove::<SessionKey>();
        let req = RequestInfo::read(parts, body, state.config.max_rest_body_bytes).await?;
        let key = match session {
            Some(SessionKey(k)) => k,
            None => authenticate(state, &req).await?,
        };
        Ok(Api { key, req })
    }
}

impl FromRequest<AppState> for ProjectApi {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        Self::read(req, state, state.config.max_rest_body_bytes).await
    }
}

impl ProjectApi {
    /// The extractor with another body limit (an import takes capture's).
    pub async fn read(req: Request, state: &AppState, limit: usize) -> ApiResult<Self> {
        let (mut parts, body) = req.into_parts();
        let segment = project_segment(&mut parts, state).await;
        let session = parts.extensions.remove::<SessionKey>();
        let req = RequestInfo::read(parts, body, limit).await?;
        let key = match session {
            Some(SessionKey(k)) => k,
            None => authenticate(state, &req).await?,
        };
        let project = resolve_project(state, &key, &segment).await?;
        tracing::Span::current().record("project", project.id.0);
        Ok(ProjectApi {
            api: Api { key, req },
            project,
        })
    }
}

/// The decoded `{project_id}` segment of the path; `""` (no project) when it is missing or not
/// UTF-8 once decoded.
async fn project_segment(parts: &mut Parts, state: &AppState) -> String {
    if let Ok(params) = RawPathParams::from_request_parts(parts, state).await {
        return params
            .iter()
            .find(|(name, _)| *name == "project_id")
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default();
    }
    // Some segment is not UTF-8 once decoded: read the project's own segment (the third).
    let in_route = parts
        .extensions
        .get::<MatchedPath>()
        .is_some_and(|m| m.as_str().contains("{project_id}"));
    if !in_route {
        return String::new();
    }
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path(), |o| o.0.path());
    percent_decode(path.split('/').nth(3).unwrap_or("")).unwrap_or_default()
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

/// The key the request carries: 401 when there is none or it is unknown.
async fn authenticate(state: &AppState, req: &RequestInfo) -> ApiResult<ApiKey> {
    let body = req.body_for_auth();
    let (plaintext, place) =
        find_key(&req.headers, &body, &req.query).ok_or_else(ApiError::not_authenticated)?;
    let digest = SecretDigest::of(&plaintext);
    if let Some(k) = state.keys.get(&digest.0) {
        record_use(state, &k);
        return Ok(k);
    }
    let key = state
        .store
        .api_key_by_digest(&digest)
        .await?
        .ok_or_else(|| ApiError::authentication_failed(place))?;
    state.keys.insert(digest.0, key.clone());
    record_use(state, &key);
    Ok(key)
}

/// Records, at most once a minute per key and server, that the key was used. In the
/// background: a request never waits for, nor fails by, this bookkeeping.
fn record_use(state: &AppState, key: &ApiKey) {
    const MINUTE_US: i64 = 60_000_000;
    let now = state.clock.now_us();
    let minute = now - now.rem_euclid(MINUTE_US);
    if key.last_used_at.is_some_and(|t| t >= minute) || state.key_uses.get(&key.id) == Some(minute)
    {
        return;
    }
    state.key_uses.insert(key.id, minute);
    let (store, id) = (state.store.clone(), key.id);
    tokio::spawn(async move {
        if let Err(e) = store.touch_api_key(id, minute).await {
            tracing::warn!(key_id = id, error = %e, "could not record a key's last use");
        }
    });
}

/// `@current`: the lowest-id project the key may access, if any.
pub async fn current_project(state: &AppState, key: &ApiKey) -> ApiResult<Option<Project>> {
    let all = state.store.list_projects().await?;
    Ok(all.into_iter().find(|p| key.may_access(p.id)))
}

/// `{project_id}` → a project the key may access: an integer id or `@current` (the lowest id the
/// key can access).
async fn resolve_project(state: &AppState, key: &ApiKey, param: &str) -> ApiResult<Project> {
    let not_found = || ApiError::not_found_with("Project not found.");
    if param == "@current" {
        return current_project(state, key).await?.ok_or_else(not_found);
    }
    let id = ProjectId(param.parse().map_err(|_| not_found())?);
    let project = match state.projects.get(&id) {
        Some(p) => p,
        None => {
            let p = state.store.get_project(id).await?.ok_or_else(not_found)?;
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
