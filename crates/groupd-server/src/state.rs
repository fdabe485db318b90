//! The state every handler shares: built once in `startup`, cloned per request (all `Arc`s).
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use groupd_core::Clock;
use groupd_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::ServeConfig;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Time source (fixed in tests).
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Arc<ServeConfig>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Project tokens already resolved.
    pub tokens: Arc<TokenCache>,
}

/// Public token → project id. Only found tokens are kept (a project created a moment ago must
/// work at once), and tokens never change, so an entry is never stale.
#[derive(Default)]
pub struct TokenCache(RwLock<HashMap<String, i64>>);

impl TokenCache {
    const MAX_ENTRIES: usize = 10_000;

    /// The project of `token`, if cached.
    pub fn get(&self, token: &str) -> Option<i64> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .copied()
    }

    /// Remembers `token` → `project`.
    pub fn insert(&self, token: &str, project: i64) {
        let mut m = self.0.write().unwrap_or_else(|p| p.into_inner());
        if m.len() >= Self::MAX_ENTRIES {
            m.clear();
        }
        m.insert(token.to_owned(), project);
    }
}
