//! The store's settings, flags with `GROUPD_…` environment twins like every other setting
//! (flattened into the CLI's common settings).
use std::time::Duration;

/// Default for [`StoreOptions::write_queue`].
pub const DEFAULT_WRITE_QUEUE: usize = 8192;
/// Default for [`StoreOptions::sqlite_readers`].
pub const DEFAULT_SQLITE_READERS: usize = 4;
/// Default for [`StoreOptions::pg_pool_size`].
pub const DEFAULT_PG_POOL_SIZE: usize = 12;
/// Default for [`StoreOptions::pg_pool_wait_secs`].
pub const DEFAULT_PG_POOL_WAIT_SECS: u64 = 10;

/// How the store sizes its queues and connections.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct StoreOptions {
    /// Write jobs that may wait for the writer before requests are answered 503 (SQLite: every
    /// write; PostgreSQL: capture requests that change groups).
    #[arg(long, env = "GROUPD_WRITE_QUEUE", default_value_t = DEFAULT_WRITE_QUEUE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..), global = true)]
    pub write_queue: usize,

    /// SQLite read connections.
    #[arg(long, env = "GROUPD_SQLITE_READERS", default_value_t = DEFAULT_SQLITE_READERS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256), global = true)]
    pub sqlite_readers: usize,

    /// PostgreSQL connections per process.
    #[arg(long, env = "GROUPD_PG_POOL_SIZE", default_value_t = DEFAULT_PG_POOL_SIZE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=1024), global = true)]
    pub pg_pool_size: usize,

    /// How long a request waits for a PostgreSQL connection before it is answered 503, in
    /// seconds.
    #[arg(long, env = "GROUPD_PG_POOL_WAIT_SECS", default_value_t = DEFAULT_PG_POOL_WAIT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub pg_pool_wait_secs: u64,

    /// Allow a PostgreSQL URL naming the server's maintenance database `postgres` (refused by
    /// default: groupd's tables would land among the server's own).
    #[arg(long, env = "GROUPD_ALLOW_POSTGRES_DB", global = true)]
    pub allow_postgres_db: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            write_queue: DEFAULT_WRITE_QUEUE,
            sqlite_readers: DEFAULT_SQLITE_READERS,
            pg_pool_size: DEFAULT_PG_POOL_SIZE,
            pg_pool_wait_secs: DEFAULT_PG_POOL_WAIT_SECS,
            allow_postgres_db: false,
        }
    }
}

impl StoreOptions {
    /// [`Self::pg_pool_wait_secs`] as a duration.
    pub fn pg_pool_wait(&self) -> Duration {
        Duration::from_secs(self.pg_pool_wait_secs)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        store: StoreOptions,
    }

    #[test]
    fn defaults_are_the_flags_defaults() {
        let parsed = Cli::try_parse_from(["groupd"]).unwrap().store;
        // The environment may set a twin; compare only what it does not.
        let twins = [
            "GROUPD_WRITE_QUEUE",
            "GROUPD_SQLITE_READERS",
            "GROUPD_PG_POOL_SIZE",
            "GROUPD_PG_POOL_WAIT_SECS",
        ];
        if twins.iter().all(|k| std::env::var_os(k).is_none()) {
            assert_eq!(parsed, StoreOptions::default());
        }
        let small = Cli::try_parse_from(["groupd", "--write-queue", "1"])
            .unwrap()
            .store;
        assert_eq!(small.write_queue, 1);
        assert!(Cli::try_parse_from(["groupd", "--write-queue", "0"]).is_err());
    }
}
