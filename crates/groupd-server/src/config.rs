//! Settings: every one a flag with a `GROUPD_…` environment twin.
use clap::{Args, ValueEnum};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Settings shared by every command.
#[derive(Debug, Clone, Args)]
pub struct CommonConfig {
    /// How the store sizes its queues and connections.
    #[command(flatten)]
    pub store: groupd_store::StoreOptions,

    /// Database URL: sqlite://relative.db, sqlite:///absolute.db or postgres://user@host:port/db.
    #[arg(
        long = "database",
        env = "GROUPD_DATABASE_URL",
        default_value = "sqlite://groupd.db",
        global = true
    )]
    pub database_url: String,

    /// Log format.
    #[arg(long, env = "GROUPD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// Settings of `groupd serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port; the chosen address is logged).
    #[arg(
        long,
        env = "GROUPD_LISTEN",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen: String,

    /// Most group types per project (indexes 0..N), at most 64.
    #[arg(long, env = "GROUPD_MAX_GROUP_TYPES", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub max_group_types: u32,

    /// Largest REST request body, in bytes.
    #[arg(long, env = "GROUPD_MAX_REST_BODY_BYTES", default_value_t = 10 * 1024 * 1024, global = true)]
    pub max_rest_body_bytes: usize,

    /// Largest capture request body, in bytes.
    #[arg(long, env = "GROUPD_MAX_CAPTURE_BODY_BYTES", default_value_t = 20 * 1024 * 1024, global = true)]
    pub max_capture_body_bytes: usize,

    /// Largest capture payload after decompression, in bytes.
    #[arg(long, env = "GROUPD_MAX_DECOMPRESSED_BYTES", default_value_t = 100 * 1024 * 1024, global = true)]
    pub max_decompressed_bytes: usize,

    /// Largest single captured event, in bytes.
    #[arg(
        long,
        env = "GROUPD_MAX_EVENT_BYTES",
        default_value_t = 1_000_000,
        global = true
    )]
    pub max_event_bytes: usize,

    /// Longest time a query may run before it is cancelled, in seconds.
    #[arg(
        long,
        env = "GROUPD_QUERY_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub query_timeout_secs: u64,

    /// Working memory all running queries share, in MiB; past it sorts and aggregations spill
    /// to disk, and a query that still does not fit ends with 400 `query_memory_limit`.
    #[arg(
        long,
        env = "GROUPD_QUERY_MEMORY_MB",
        default_value_t = 512,
        global = true
    )]
    pub query_memory_mb: usize,

    /// Serve `POST /_bench/noop` (reads the body, answers 200): the HTTP floor benchmarks compare
    /// capture against. Off by default.
    #[arg(long, env = "GROUPD_ENABLE_BENCH_ROUTES", global = true, hide = true)]
    pub enable_bench_routes: bool,

    /// Longest time a request may take before it is answered 503, in seconds.
    #[arg(
        long,
        env = "GROUPD_REQUEST_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub request_timeout_secs: u64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            max_group_types: 5,
            max_rest_body_bytes: 10 * 1024 * 1024,
            max_capture_body_bytes: 20 * 1024 * 1024,
            max_decompressed_bytes: 100 * 1024 * 1024,
            max_event_bytes: 1_000_000,
            query_timeout_secs: 30,
            query_memory_mb: 512,
            enable_bench_routes: false,
            request_timeout_secs: 60,
        }
    }
}

impl ServeConfig {
    /// The capture decoding limits.
    pub fn capture_limits(&self) -> groupd_core::capture::CaptureLimits {
        groupd_core::capture::CaptureLimits {
            max_decompressed_bytes: self.max_decompressed_bytes,
            max_event_bytes: self.max_event_bytes,
        }
    }
}
