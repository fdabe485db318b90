//! Building and running the server: `Application::build` binds its listener (so tests can use
//! port 0 and read the chosen address), `run_until_stopped` serves until SIGTERM/SIGINT, then
//! finishes in-flight requests and lets the store commit what was answered.
use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, OnceLock},
};

use anyhow::Context;
use axum::Router;
use groupd_analytics::segments::{Compactor, open_data_dir};
use groupd_core::{Clock, SystemClock};
use groupd_store::Store;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::{
    config::ServeConfig,
    http,
    state::{AppState, TtlCache},
};
use std::time::Duration;

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    app: Router,
    limits: crate::serve::ConnLimits,
    /// Runs in the background while the server serves (`None`: compaction is off).
    compactor: Option<(Arc<Compactor>, Arc<dyn Clock>)>,
}

/// The process-wide metrics recorder (installing one twice would fail).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("seconds".into()), &buckets)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("groupd_write_batch_size".into()),
                        &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 512.0],
                    )
                })
                .expect("valid histogram buckets");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder exists (e.g. an embedding program's); then ours just
            // renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

impl Application {
    /// Binds `config.listen` and builds the app on `store`, on the wall clock.
    pub async fn build(config: ServeConfig, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        Self::build_with(config, store, Arc::new(SystemClock)).await
    }

    /// Binds `config.listen` and builds the app on `store`, reading "now" from `clock`.
    pub async fn build_with(
        config: ServeConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let (data_dir, segments) =
            open_data_dir(config.data_dir.as_deref(), store.as_ref()).await?;
        tracing::info!(data_dir = %data_dir.recorded(), "event segments");
        let compaction = config.compaction();
        let compactor = (!compaction.interval.is_zero()).then(|| {
            let c = Compactor::new(Arc::clone(&store), Arc::clone(&segments), compaction);
            (Arc::new(c), Arc::clone(&clock))
        });
        let engine = groupd_analytics::Engine::new(
            config.query_memory_mb.saturating_mul(1024 * 1024),
            Some(Arc::clone(&segments)),
        )
        .map_err(|e| anyhow::anyhow!("cannot start the query engine: {e:?}"))?;
        let state = AppState {
            store,
            segments,
            engine: Arc::new(engine),
            clock,
            config: Arc::new(config),
            metrics: metrics_handle(),
            tokens: Arc::new(TtlCache::new(Duration::from_secs(3600))),
            keys: Arc::new(TtlCache::new(Duration::from_secs(1))),
            projects: Arc::new(TtlCache::new(Duration::from_secs(1))),
            key_uses: Arc::new(TtlCache::new(Duration::from_secs(60))),
        };
        let limits = crate::serve::ConnLimits {
            max_connections: state.config.max_connections,
            header_timeout: Duration::from_secs(state.config.header_timeout_secs),
            idle_timeout: Duration::from_secs(state.config.idle_timeout_secs),
        };
        Ok(Self {
            listener,
            app: http::app(state),
            limits,
            compactor,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until SIGTERM or SIGINT, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then drains in-flight requests.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let compacting = self
            .compactor
            .map(|(c, clock)| groupd_analytics::segments::compactor::spawn(c, clock));
        let served = crate::serve::serve(self.listener, self.app, self.limits, stop)
            .await
            .context("server failed");
        // A step cut short leaves at worst an orphan file, removed by a later run.
        if let Some(task) = compacting {
            task.abort();
        }
        served
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
