//! PostgreSQL backend: many `groupd serve` processes share one database. Every write is one
//! transaction on a pooled connection ([`tx`]); concurrent writers meet in row locks (`SELECT …
//! FOR UPDATE`, `INSERT … ON CONFLICT`) and, for group type assignment, a transaction-scoped
//! advisory lock per project, so the group rule holds across processes without application-level
//! locks. Deadlocks and serialization failures the server reports are retried whole.
//!
//! Beside the files every backend has, four jobs are PostgreSQL's own: wire values ([`values`]),
//! the transaction helper ([`tx`]), planner statistics ([`stats`]) and TLS ([`tls`]).
//!
//! The schema (migrations/) keeps `project_id` first in every key so it can be distributed by
//! project; see docs/postgres-schema.md.
mod analytics;
mod backup;
mod changes;
mod counts;
mod error;
mod export;
mod group_types;
mod groups;
mod import;
mod ingest;
mod lifecycle;
mod migrate;
mod projects;
mod query;
mod rows;
mod segments;
mod sessions;
mod stats;
mod tls;
mod tx;
mod usage;
mod values;
mod writer;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use crate::{HealthStore, StoreError, StoreOptions, StoreResult, redact_url};
#[cfg(test)]
pub(crate) use migrate::MIGRATIONS;
use stats::StatsKeeper;

/// How long opening or recycling a pooled connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    writer: writer::Writer,
    stats: Arc<StatsKeeper>,
    /// Bumped after this process's writes and on every NOTIFY (the stream's wake-up).
    signal: Arc<tokio::sync::watch::Sender<u64>>,
}

impl PgStore {
    /// Connects to the database a `postgres://` or `postgresql://` URL names (creating the
    /// database when the server lacks it) and migrates it.
    pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let (mut config, tls) = tls::configure(url)?;
        // A server that accepts TCP but never answers (frozen) must not hold a connect forever.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        check_database_named(&config, url, options)?;
        migrate::ensure_database(&config, &tls, url).await?;
        let signal = Arc::new(tokio::sync::watch::Sender::new(0));
        changes::listen(config.clone(), tls.clone(), Arc::downgrade(&signal));
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pg_pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            // Past this wait a request is answered `Busy` (503, retry).
            .wait_timeout(Some(options.pg_pool_wait()))
            .build()
            .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| {
            StoreError::Config(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                redact_url(url)
            ))
        })?;
        migrate::migrate(&mut client).await?;
        drop(client);
        // Only capture requests that change groups queue; plain events take a pooled
        // connection, and get `Busy` when none frees up in time.
        let writer = writer::Writer::start(pool.clone(), options.write_queue.max(1));
        Ok(Self {
            pool,
            writer,
            stats: Arc::default(),
            signal,
        })
    }

    /// Wakes this process's change-stream readers after a committed write.
    fn changed(&self) {
        self.signal.send_modify(|n| *n = n.wrapping_add(1));
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        Ok(self.pool.get().await?)
    }
}

#[async_trait]
impl HealthStore for PgStore {
    async fn health(&self) -> StoreResult<()> {
        let c = self.client().await?;
        // A write, not just a read: a server whose disk is full still answers SELECT 1.
        c.batch_execute(
            "INSERT INTO health_probe (id, at) VALUES (1, now())
             ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .await?;
        Ok(())
    }

    fn write_queue_depth(&self) -> usize {
        self.writer.queue_depth()
    }
}

/// A URL without a database would connect to the user's default one, and `/postgres` is the
/// server's maintenance database: groupd's tables belong in neither unless asked.
fn check_database_named(
    config: &tokio_postgres::Config,
    url: &str,
    options: &StoreOptions,
) -> StoreResult<()> {
    let refuse = |what: &str| {
        Err(StoreError::Config(format!(
            "the PostgreSQL URL {} {what}; name groupd's own database, e.g. \
             postgres://user@host:5432/groupd (it is created if missing), or pass \
             --allow-postgres-db",
            redact_url(url)
        )))
    };
    match config.get_dbname() {
        None | Some("") => refuse("names no database"),
        Some("postgres") if !options.allow_postgres_db => {
            refuse("names the server's maintenance database 'postgres'")
        }
        _ => Ok(()),
    }
}
