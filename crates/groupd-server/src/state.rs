//! The state every handler shares: built once in `startup`, cloned per request (all `Arc`s).
use std::sync::Arc;

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
}
