//! `/api/personal_api_keys/` (PostHog's): list, create, retrieve, delete, and
//! `/api/users/@me/`, which tools call to check a key.
//!
//! A key never reaches beyond itself: it creates only keys whose scopes and projects it holds,
//! and sees or deletes only such keys, so a narrow key cannot list, or revoke, a wider one.
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use groupd_core::{
    PERSONAL_KEY_PREFIX, ProjectId, Scope, ScopeSet, SecretDigest, generate_secret, mask_secret,
    time_fmt::format_us,
};
use groupd_store::{ApiKey, NewApiKey, StoreError};
use serde_json::{Map, Value, json};

use super::{
    auth::Api,
    error::{ApiError, ApiResult},
    fields::{self, json_type_name, required_string},
    routes::route,
};
use crate::state::AppState;

/// Longest key label (PostHog's).
const LABEL_MAX: usize = 40;

/// The single organization a groupd installation is, as `/api/users/@me/` reports it.
const ORGANIZATION_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The key routes and `/api/users/@me/`.
pub fn router() -> Router<AppState> {
    use axum::routing::get;
    Router::new()
        .merge(route("/api/personal_api_keys", get(list).post(create)))
        .merge(route(
            "/api/personal_api_keys/{id}",
            get(retrieve).delete(remove),
        ))
        .merge(route("/api/users/@me", get(me)))
}

/// A key in PostHog's field names; never its secret.
pub fn key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "label": k.label,
        "scopes": k.scopes.names(),
        "scoped_teams": k.projects,
        "created_at": format_us(k.created_at),
        "last_used_at": k.last_used_at.map(format_us),
        "mask_value": k.mask_value,
    })
}

/// The body of `POST /api/personal_api_keys/`.
#[derive(Debug, PartialEq)]
pub struct NewKeyBody {
    /// Label.
    pub label: String,
    /// Scopes, each known.
    pub scopes: ScopeSet,
    /// Projects to limit the key to; `None` (absent, null or `[]`): every project.
    pub scoped_teams: Option<Vec<ProjectId>>,
}

/// A list field in DRF's terms: absent → `None`, `null` → refused, a non-list → refused.
fn list_field<'a>(obj: &'a Map<String, Value>, name: &str) -> ApiResult<Option<&'a [Value]>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::Null) => Err(ApiError::validation(
            "null",
            "This field may not be null.",
            Some(name),
        )),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(ApiError::invalid(
            name,
            format!(
                "Expected a list of items but got type \"{}\".",
                json_type_name(other)
            ),
        )),
    }
}

impl NewKeyBody {
    /// Reads `{label, scopes: [..], scoped_teams: [..]}` with PostHog's messages.
    pub fn parse(body: Value) -> ApiResult<Self> {
        let body = fields::object(body)?;
        let label = required_string(&body, "label", LABEL_MAX)?;
        let names =
            list_field(&body, "scopes")?.ok_or_else(|| ApiError::required_field("scopes"))?;
        let mut scopes = Vec::with_capacity(names.len());
        for v in names {
            let name = v
                .as_str()
                .ok_or_else(|| ApiError::invalid("scopes", "Not a valid string."))?;
            let scope = Scope::parse(name)
                .map_err(|_| ApiError::invalid("scopes", format!("Invalid scope: {name}")))?;
            scopes.push(scope);
        }
        if scopes.is_empty() {
            return Err(ApiError::invalid("scopes", "This list may not be empty."));
        }
        // `null` is PostHog's "every project" for this field, like an empty list.
        let teams = match body.get("scoped_teams") {
            Some(Value::Null) => None,
            _ => list_field(&body, "scoped_teams")?,
        };
        let scoped_teams = match teams {
            None | Some([]) => None,
            Some(ids) => Some(
                ids.iter()
                    .map(|v| {
                        v.as_i64()
                            .map(ProjectId)
                            .ok_or_else(|| ApiError::not_an_integer("scoped_teams"))
                    })
                    .collect::<ApiResult<Vec<_>>>()?,
            ),
        };
        Ok(Self {
            label,
            scopes: ScopeSet::from_scopes(scopes),
            scoped_teams,
        })
    }
}

/// True when `owner` holds everything `other` may do: every scope, and every project.
fn covers(owner: &ApiKey, scopes: &ScopeSet, projects: Option<&[ProjectId]>) -> bool {
    let projects_ok = match (&owner.projects, projects) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(own), Some(theirs)) => theirs.iter().all(|p| own.contains(p)),
    };
    projects_ok && owner.scopes.grants_all(scopes)
}

fn within(owner: &ApiKey, k: &ApiKey) -> bool {
    covers(owner, &k.scopes, k.projects.as_deref())
}

/// GET /api/personal_api_keys/ — the live keys within the caller's reach, newest first.
#[utoipa::path(get, path = "/api/personal_api_keys/", tag = "personal_api_keys",
    responses((status = 200, description = "Keys, newest first, without their secret", body = Vec<super::schema::ApiKey>)))]
pub async fn list(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    api.require(Scope::PersonalApiKeyRead)?;
    let keys = state.store.list_api_keys().await?;
    Ok(Json(Value::Array(
        keys.iter()
            .filter(|k| within(&api.key, k))
            .map(key_json)
            .collect(),
    )))
}

/// POST /api/personal_api_keys/ — a new key; its secret is in `value`, shown only here.
#[utoipa::path(post, path = "/api/personal_api_keys/", tag = "personal_api_keys",
    request_body = super::schema::NewApiKey,
    responses((status = 201, description = "The key, with its secret in `value`", body = super::schema::CreatedApiKey),
        (status = 400, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)))]
pub async fn create(State(state): State<AppState>, api: Api) -> ApiResult<impl IntoResponse> {
    api.require(Scope::PersonalApiKeyWrite)?;
    let new = api.parse_body(NewKeyBody::parse)?;
    if let Some(denied) = new
        .scopes
        .names()
        .into_iter()
        .find(|name| !Scope::parse(name).is_ok_and(|s| api.key.scopes.grants(s)))
    {
        return Err(ApiError::permission_denied(format!(
            "API key cannot grant scope '{denied}', which it does not have."
        )));
    }
    if !covers(&api.key, &new.scopes, new.scoped_teams.as_deref()) {
        return Err(ApiError::permission_denied(
            "API key cannot grant access to projects it does not have.",
        ));
    }
    let plaintext = generate_secret(PERSONAL_KEY_PREFIX);
    let key = state
        .store
        .create_api_key(
            NewApiKey {
                label: new.label,
                digest: SecretDigest::of(&plaintext),
                mask_value: mask_secret(&plaintext),
                scopes: new.scopes,
                projects: new.scoped_teams,
            },
            state.clock.now_us(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::invalid(
                "scoped_teams",
                "You must be a member of all teams that you are scoping the key to.",
            ),
            e => e.into(),
        })?;
    let mut body = key_json(&key);
    body["value"] = Value::String(plaintext);
    Ok((StatusCode::CREATED, Json(body)))
}

/// The key `id` names (`@current`: the caller's own), if the caller may see it.
async fn find(state: &AppState, api: &Api, id: &str) -> ApiResult<ApiKey> {
    if id == "@current" {
        return Ok(api.key.clone());
    }
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    state
        .store
        .list_api_keys()
        .await?
        .into_iter()
        .find(|k| k.id == id && within(&api.key, k))
        .ok_or_else(ApiError::not_found)
}

/// GET /api/personal_api_keys/{id}/ — one key (`@current`: the caller).
#[utoipa::path(get, path = "/api/personal_api_keys/{id}/", tag = "personal_api_keys",
    params(("id" = String, Path)), responses((status = 200, description = "The key", body = super::schema::ApiKey), (status = 404, body = super::error::ErrorBody)))]
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    api: Api,
) -> ApiResult<Json<Value>> {
    api.require(Scope::PersonalApiKeyRead)?;
    Ok(Json(key_json(&find(&state, &api, &id).await?)))
}

/// DELETE /api/personal_api_keys/{id}/ — revokes the key on every server within a second.
#[utoipa::path(delete, path = "/api/personal_api_keys/{id}/", tag = "personal_api_keys",
    params(("id" = String, Path)), responses((status = 204, description = "Revoked"), (status = 404, body = super::error::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    api: Api,
) -> ApiResult<StatusCode> {
    api.require(Scope::PersonalApiKeyWrite)?;
    let key = find(&state, &api, &id).await?;
    if !state
        .store
        .revoke_api_key(key.id, state.clock.now_us())
        .await?
    {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/users/@me/ — who the key is: any valid key may ask.
#[utoipa::path(get, path = "/api/users/@me/", tag = "users",
    responses((status = 200, description = "The key as a user", body = super::schema::Me), (status = 401, body = super::error::ErrorBody)))]
pub async fn me(State(state): State<AppState>, api: Api) -> ApiResult<Json<Value>> {
    let current = super::auth::current_project(&state, &api.key).await?;
    Ok(Json(json!({
        "id": api.key.id,
        "first_name": api.key.label,
        "email": null,
        "team": current.map(|p| json!({"id": p.id})),
        "organization": {"id": ORGANIZATION_ID},
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: Value) -> (u16, &'static str, String, Option<String>) {
        NewKeyBody::parse(body).unwrap_err().describe()
    }

    #[test]
    fn a_new_key_body_is_read_with_posthogs_messages() {
        let ok = NewKeyBody::parse(
            json!({"label": "ci", "scopes": ["group:read"], "scoped_teams": [3]}),
        )
        .unwrap();
        assert_eq!(ok.scoped_teams, Some(vec![ProjectId(3)]));
        assert_eq!(ok.scopes.names(), ["group:read"]);
        for every in [json!(null), json!([])] {
            let b =
                NewKeyBody::parse(json!({"label": "x", "scopes": ["*"], "scoped_teams": every}));
            assert_eq!(b.unwrap().scoped_teams, None);
        }
        let e = err(json!({"label": "x", "scopes": ["group:read", "insight:fly"]}));
        assert_eq!(
            (e.0, e.2.as_str(), e.3.as_deref()),
            (400, "Invalid scope: insight:fly", Some("scopes"))
        );
        let e = err(json!({"label": "x"}));
        assert_eq!((e.1, e.3.as_deref()), ("required", Some("scopes")));
        let e = err(json!({"scopes": ["*"]}));
        assert_eq!((e.1, e.3.as_deref()), ("required", Some("label")));
        let e = err(json!({"label": "x", "scopes": "group:read"}));
        assert_eq!(e.2, "Expected a list of items but got type \"str\".");
        let e = err(json!({"label": "x", "scopes": ["*"], "scoped_teams": ["a"]}));
        assert_eq!(
            (e.2.as_str(), e.3.as_deref()),
            ("A valid integer is required.", Some("scoped_teams"))
        );
        let e = err(json!({"label": "x".repeat(41), "scopes": ["*"]}));
        assert_eq!(e.1, "max_length");
    }
}
