//! Projects and personal API keys.
use std::sync::Arc;

use groupd_core::{ProjectId, ProjectToken, Scope, ScopeSet, SecretDigest};

use super::{T0, project};
use crate::{ConflictOn, NewApiKey, NewProject, Store, StoreError};

fn token(s: &str) -> Option<ProjectToken> {
    Some(ProjectToken::parse(s).expect("a valid token"))
}

fn read_scope() -> ScopeSet {
    ScopeSet::from_scopes([Scope::parse("group:read").unwrap()])
}

fn new_key(digest_of: &str, projects: Option<Vec<ProjectId>>) -> NewApiKey {
    NewApiKey {
        label: "k".into(),
        digest: SecretDigest::of(digest_of),
        scopes: read_scope(),
        projects,
        mask_value: groupd_core::mask_secret(digest_of),
    }
}

pub async fn projects_are_listed_in_creation_order(s: Arc<dyn Store>) {
    let a = s
        .create_project(
            NewProject {
                name: "a".into(),
                api_token: token("phc_tokenA1"),
            },
            T0,
        )
        .await
        .unwrap();
    let b = s
        .create_project(
            NewProject {
                name: "b".into(),
                api_token: None,
            },
            T0 + 1,
        )
        .await
        .unwrap();
    assert!(b.api_token.as_str().starts_with("phc_"));
    assert_eq!(a.api_token.as_str(), "phc_tokenA1");
    assert_eq!(s.list_projects().await.unwrap(), vec![a, b]);
}

pub async fn a_project_token_in_use_is_a_conflict(s: Arc<dyn Store>) {
    s.create_project(
        NewProject {
            name: "a".into(),
            api_token: token("phc_tokenA1"),
        },
        T0,
    )
    .await
    .unwrap();
    assert!(matches!(
        s.create_project(
            NewProject {
                name: "c".into(),
                api_token: token("phc_tokenA1")
            },
            T0
        )
        .await,
        Err(StoreError::Conflict(ConflictOn::ApiToken))
    ));
    assert_eq!(s.list_projects().await.unwrap().len(), 1);
}

pub async fn get_project_finds_only_existing_projects(s: Arc<dyn Store>) {
    let a = s
        .create_project(
            NewProject {
                name: "a".into(),
                api_token: None,
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(s.get_project(a.id).await.unwrap(), Some(a));
    assert_eq!(s.get_project(ProjectId(9999)).await.unwrap(), None);
}

pub async fn project_by_token_finds_the_tokens_project(s: Arc<dyn Store>) {
    let a = s
        .create_project(
            NewProject {
                name: "a".into(),
                api_token: token("phc_tokenA1"),
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        s.project_by_token("phc_tokenA1")
            .await
            .unwrap()
            .map(|p| p.id),
        Some(a.id)
    );
    assert_eq!(s.project_by_token("phc_zz").await.unwrap(), None);
    assert_eq!(s.project_by_token("not a token\0").await.unwrap(), None);
}

pub async fn renaming_keeps_everything_but_the_name(s: Arc<dyn Store>) {
    let a = s
        .create_project(
            NewProject {
                name: "a".into(),
                api_token: None,
            },
            T0,
        )
        .await
        .unwrap();
    let renamed = s.rename_project(a.id, "A2").await.unwrap().unwrap();
    assert_eq!((renamed.name.as_str(), renamed.created_at), ("A2", T0));
    assert_eq!(renamed.api_token, a.api_token);
    assert_eq!(s.rename_project(ProjectId(9999), "x").await.unwrap(), None);
}

pub async fn an_api_key_for_a_missing_project_is_refused(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let missing = s
        .create_api_key(new_key("phx_x", Some(vec![p, ProjectId(9999)])), T0)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert!(
        s.api_key_by_digest(&SecretDigest::of("phx_x"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn an_api_key_is_found_by_its_digest_only(s: Arc<dyn Store>) {
    let p = project(&s).await;
    let k = s
        .create_api_key(new_key("phx_y", Some(vec![p])), T0)
        .await
        .unwrap();
    let got = s
        .api_key_by_digest(&SecretDigest::of("phx_y"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.id, got.label.as_str(), got.projects.clone()),
        (k.id, "k", Some(vec![p]))
    );
    assert_eq!(got.scopes.names(), read_scope().names());
    assert_eq!(got.created_at, T0);
    assert!(got.may_access(p) && !got.may_access(ProjectId(p.0 + 1)));
    assert!(
        s.api_key_by_digest(&SecretDigest::of("phx_x"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn an_api_key_without_projects_reaches_every_project(s: Arc<dyn Store>) {
    let all = s.create_api_key(new_key("phx_z", None), T0).await.unwrap();
    let got = s
        .api_key_by_digest(&SecretDigest::of("phx_z"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.id, got.projects.clone()), (all.id, None));
    assert!(got.may_access(ProjectId(12345)));
}

pub async fn keys_are_listed_newest_first_with_their_mask(s: Arc<dyn Store>) {
    let a = s
        .create_api_key(new_key("phx_aaaa1", None), T0)
        .await
        .unwrap();
    let b = s
        .create_api_key(new_key("phx_bbbb2", None), T0 + 5)
        .await
        .unwrap();
    let listed = s.list_api_keys().await.unwrap();
    let ids: Vec<i64> = listed.iter().map(|k| k.id).collect();
    assert_eq!(ids, vec![b.id, a.id]);
    assert_eq!(listed[0].mask_value.as_deref(), Some("phx_...bbb2"));
    assert_eq!((listed[1].created_at, listed[1].last_used_at), (T0, None));
}

pub async fn a_revoked_key_stops_authenticating_and_is_not_listed(s: Arc<dyn Store>) {
    let a = s
        .create_api_key(new_key("phx_live1", None), T0)
        .await
        .unwrap();
    let b = s
        .create_api_key(new_key("phx_gone1", None), T0)
        .await
        .unwrap();
    assert!(s.revoke_api_key(b.id, T0 + 1).await.unwrap());
    assert!(
        !s.revoke_api_key(b.id, T0 + 2).await.unwrap(),
        "revoked twice"
    );
    assert!(!s.revoke_api_key(9999, T0).await.unwrap(), "unknown id");
    let gone = s.api_key_by_digest(&SecretDigest::of("phx_gone1")).await;
    assert!(gone.unwrap().is_none());
    let live = s.api_key_by_digest(&SecretDigest::of("phx_live1")).await;
    assert_eq!(live.unwrap().map(|k| k.id), Some(a.id));
    let ids: Vec<i64> = s
        .list_api_keys()
        .await
        .unwrap()
        .iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, vec![a.id]);
}

pub async fn last_use_only_moves_forward(s: Arc<dyn Store>) {
    let k = s
        .create_api_key(new_key("phx_used1", None), T0)
        .await
        .unwrap();
    s.touch_api_key(k.id, T0 + 120_000_000).await.unwrap();
    s.touch_api_key(k.id, T0 + 60_000_000).await.unwrap();
    let got = s.api_key_by_digest(&SecretDigest::of("phx_used1")).await;
    assert_eq!(got.unwrap().unwrap().last_used_at, Some(T0 + 120_000_000));
}
