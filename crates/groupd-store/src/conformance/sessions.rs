//! Web UI sessions.
use std::sync::Arc;

use groupd_core::{Scope, ScopeSet, SecretDigest};

use super::{SEC, T0};
use crate::{NewApiKey, NewSession, Store};

async fn key(s: &Arc<dyn Store>, plaintext: &str) -> i64 {
    s.create_api_key(
        NewApiKey {
            label: "ui".into(),
            digest: SecretDigest::of(plaintext),
            scopes: ScopeSet::from_scopes([Scope::parse("group:read").unwrap()]),
            projects: None,
            mask_value: groupd_core::mask_secret(plaintext),
        },
        T0,
    )
    .await
    .unwrap()
    .id
}

fn session(id: &str, key_id: i64, now_us: i64) -> NewSession {
    NewSession {
        digest: SecretDigest::of(id),
        key_id,
        csrf_token: format!("csrf-{id}"),
        now_us,
        expire_before_us: now_us - 12 * 3600 * SEC,
    }
}

pub async fn a_session_is_found_by_its_digest_with_its_key(s: Arc<dyn Store>) {
    let k = key(&s, "phx_session_key_1").await;
    s.create_session(session("sid-1", k, T0)).await.unwrap();
    let found = s
        .find_session(&SecretDigest::of("sid-1"), T0 - SEC)
        .await
        .unwrap()
        .expect("the session");
    assert_eq!(
        (found.key.id, found.csrf_token.as_str(), found.last_seen_us),
        (k, "csrf-sid-1", T0)
    );
    assert!(
        s.find_session(&SecretDigest::of("sid-2"), 0)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn an_idle_session_is_not_found_until_touched(s: Arc<dyn Store>) {
    let k = key(&s, "phx_session_key_2").await;
    s.create_session(session("sid-idle", k, T0)).await.unwrap();
    let d = SecretDigest::of("sid-idle");
    assert!(s.find_session(&d, T0 + SEC).await.unwrap().is_none());
    s.touch_session(&d, T0 + 5 * SEC).await.unwrap();
    // A touch never moves the time back.
    s.touch_session(&d, T0 + 2 * SEC).await.unwrap();
    let found = s.find_session(&d, T0 + SEC).await.unwrap().unwrap();
    assert_eq!(found.last_seen_us, T0 + 5 * SEC);
}

pub async fn ending_a_session_or_revoking_its_key_ends_it(s: Arc<dyn Store>) {
    let k = key(&s, "phx_session_key_3").await;
    s.create_session(session("sid-a", k, T0)).await.unwrap();
    s.create_session(session("sid-b", k, T0)).await.unwrap();
    s.end_session(&SecretDigest::of("sid-a")).await.unwrap();
    assert!(
        s.find_session(&SecretDigest::of("sid-a"), 0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.find_session(&SecretDigest::of("sid-b"), 0)
            .await
            .unwrap()
            .is_some()
    );
    assert!(s.revoke_api_key(k, T0 + SEC).await.unwrap());
    assert!(
        s.find_session(&SecretDigest::of("sid-b"), 0)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn creating_a_session_forgets_expired_ones(s: Arc<dyn Store>) {
    let k = key(&s, "phx_session_key_4").await;
    s.create_session(session("sid-old", k, T0)).await.unwrap();
    let later = T0 + 13 * 3600 * SEC;
    s.create_session(session("sid-new", k, later))
        .await
        .unwrap();
    // Even asked with no idle bound, the expired session is gone.
    assert!(
        s.find_session(&SecretDigest::of("sid-old"), 0)
            .await
            .unwrap()
            .is_none()
    );
}
