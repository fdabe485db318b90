//! The state every handler shares: built once in `startup`, cloned per request (all `Arc`s).
use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use groupd_core::{Clock, ProjectId};
use groupd_store::{ApiKey, Project, Store};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::ServeConfig;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The event segments, rooted at the segment root (catalog paths are paths in it).
    pub segments: Arc<dyn groupd_analytics::segments::ObjectStore>,
    /// The HogQL engine (its memory pool is shared by every query).
    pub engine: Arc<groupd_analytics::Engine>,
    /// Time source (fixed in tests).
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Arc<ServeConfig>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Public token → project id (tokens never change: an hour's life only bounds memory).
    pub tokens: Arc<TtlCache<String, ProjectId>>,
    /// Key digest → key, for one second: a new key may take up to a second to work, and a
    /// revoked one up to a second to stop (keys are never otherwise changed).
    pub keys: Arc<TtlCache<[u8; 32], ApiKey>>,
    /// Key id → the minute this server last recorded its use, so `last_used_at` costs one
    /// write per key per minute, not one per request.
    pub key_uses: Arc<TtlCache<i64, i64>>,
    /// Project id → project, for one second; only used to check access (never to show a name).
    pub projects: Arc<TtlCache<ProjectId, Project>>,
}

/// A small map whose entries expire. Only found values are kept (a miss always asks the store).
pub struct TtlCache<K, V> {
    map: RwLock<HashMap<K, (Instant, V)>>,
    ttl: Duration,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    const MAX_ENTRIES: usize = 10_000;

    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            ttl,
        }
    }

    /// The fresh value of `k`, if any.
    pub fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let m = self.map.read().unwrap_or_else(|p| p.into_inner());
        m.get(k)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Remembers `k` → `v`.
    pub fn insert(&self, k: K, v: V) {
        let mut m = self.map.write().unwrap_or_else(|p| p.into_inner());
        if m.len() >= Self::MAX_ENTRIES {
            m.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if m.len() >= Self::MAX_ENTRIES {
                m.clear();
            }
        }
        m.insert(k, (Instant::now(), v));
    }
}
