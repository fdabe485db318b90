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

/// Settings shared by every command (before or after the subcommand), shown under their own
/// heading in every command's help.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Settings of every command")]
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

    /// Address `serve` listens on (port 0 picks a free port; the chosen address is logged).
    #[arg(
        long,
        env = "GROUPD_LISTEN",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen: String,

    /// Most group types per project (indexes 0..N), at most 64: `serve` refuses a type beyond
    /// it, `import` fails its lines.
    #[arg(long, env = "GROUPD_MAX_GROUP_TYPES", default_value_t = 5, global = true,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_group_types: u32,
}

impl ServeConfig {
    /// These settings with the common ones `serve` reads (the listen address, the type limit).
    pub fn with_common(mut self, common: &CommonConfig) -> Self {
        self.listen.clone_from(&common.listen);
        self.max_group_types = common.max_group_types;
        self
    }
}

/// Settings of `groupd serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// The address `serve` listens on (from the common settings; see [`CommonConfig::listen`]).
    #[arg(skip = String::from("127.0.0.1:8000"))]
    pub listen: String,

    /// Most group types per project (from the common settings).
    #[arg(skip = 5_u32)]
    pub max_group_types: u32,

    /// Largest REST request body, in bytes.
    #[arg(long, env = "GROUPD_MAX_REST_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_rest_body_bytes: usize,

    /// Largest capture request body, in bytes.
    #[arg(long, env = "GROUPD_MAX_CAPTURE_BODY_BYTES", default_value_t = 20 * 1024 * 1024)]
    pub max_capture_body_bytes: usize,

    /// Largest capture payload after decompression, in bytes.
    #[arg(long, env = "GROUPD_MAX_DECOMPRESSED_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_decompressed_bytes: usize,

    /// Largest single captured event, in bytes.
    #[arg(long, env = "GROUPD_MAX_EVENT_BYTES", default_value_t = 1_000_000)]
    pub max_event_bytes: usize,

    /// Longest time a query may run before it is cancelled, in seconds.
    #[arg(long, env = "GROUPD_QUERY_TIMEOUT_SECS", default_value_t = 30)]
    pub query_timeout_secs: u64,

    /// Working memory all running queries share, in MiB; past it sorts and aggregations spill
    /// to disk, and a query that still does not fit ends with 400 `query_memory_limit`.
    #[arg(long, env = "GROUPD_QUERY_MEMORY_MB", default_value_t = 512)]
    pub query_memory_mb: usize,

    /// Serve `POST /_bench/noop` (reads the body, answers 200): the HTTP floor benchmarks compare
    /// capture against. Off by default.
    #[arg(long, env = "GROUPD_ENABLE_BENCH_ROUTES", hide = true)]
    pub enable_bench_routes: bool,

    /// Longest time a request may take before it is answered 503, in seconds.
    #[arg(long, env = "GROUPD_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,

    /// Origins (`https://app.example.com`, comma-separated) whose pages may call the REST API
    /// from a browser; none by default. Capture allows every origin, as PostHog's does.
    #[arg(long, env = "GROUPD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Most client connections open at once (lowered to what the open-files limit allows); the
    /// rest wait in the kernel's backlog.
    #[arg(long, env = "GROUPD_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,

    /// How long a client may take to send a request's headers, in seconds, from their first byte.
    #[arg(long, env = "GROUPD_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,

    /// Seconds after which a keep-alive connection with no request in flight is closed.
    #[arg(long, env = "GROUPD_IDLE_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout_secs: u64,
    /// Where event segments live: a directory, or s3://bucket/prefix. Default: next to a SQLite
    /// database (`<file>.segments/`), `./groupd-segments/` for PostgreSQL.
    #[arg(long, env = "GROUPD_DATA_DIR")]
    pub data_dir: Option<String>,

    /// How long a captured event's key is remembered for deduplication, in days (also after the
    /// event has moved into a segment).
    #[arg(long, env = "GROUPD_DEDUP_WINDOW_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(u64).range(1..=36_500))]
    pub dedup_window_days: u64,

    /// Seconds between two compactions of events into segments; 0 turns compaction off.
    #[arg(long, env = "GROUPD_COMPACTION_INTERVAL_SECS", default_value_t = 20)]
    pub compaction_interval_secs: u64,

    /// Seconds an event stays in the database at least before it is compacted.
    #[arg(long, env = "GROUPD_COMPACTION_MIN_AGE_SECS", default_value_t = 10)]
    pub compaction_min_age_secs: u64,

    /// Most events one compaction step moves into one segment.
    #[arg(long, env = "GROUPD_COMPACTION_BATCH_ROWS", default_value_t = 100_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub compaction_batch_rows: usize,

    /// A day's smaller segments are merged into segments of up to this many events (a merge
    /// holds them in memory, about 0.5 KB each).
    #[arg(long, env = "GROUPD_SEGMENT_MERGE_ROWS", default_value_t = 250_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub segment_merge_rows: u64,

    /// Seconds the change stream keeps a change (`GET /groups/changes`); older ones are pruned
    /// within 10 s and a cursor before them is answered 410.
    #[arg(long, env = "GROUPD_CHANGE_RETENTION_SECS", default_value_t = 2_592_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub change_retention_secs: u64,

    /// Serve no web UI: `/`, every UI page and asset answer 404 (the APIs are unchanged).
    #[arg(long, env = "GROUPD_NO_UI")]
    pub no_ui: bool,

    /// Mark the web UI's session cookie `Secure` (the browser sends it over HTTPS only): for a
    /// groupd behind an HTTPS proxy. A sign-in that arrives with `X-Forwarded-Proto: https` gets
    /// a `Secure` cookie without this flag too.
    #[arg(long, env = "GROUPD_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,
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
            cors_origins: Vec::new(),
            max_connections: 10_000,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            data_dir: None,
            dedup_window_days: 7,
            // Off unless asked for: in tests a compaction is forced when wanted.
            compaction_interval_secs: 0,
            compaction_min_age_secs: 10,
            compaction_batch_rows: 100_000,
            segment_merge_rows: 250_000,
            change_retention_secs: 2_592_000,
            no_ui: false,
            secure_cookies: false,
        }
    }
}

impl ServeConfig {
    /// How compaction runs.
    pub fn compaction(&self) -> groupd_analytics::segments::CompactionConfig {
        use std::time::Duration;
        groupd_analytics::segments::CompactionConfig {
            interval: Duration::from_secs(self.compaction_interval_secs),
            min_age: Duration::from_secs(self.compaction_min_age_secs),
            batch_rows: self.compaction_batch_rows,
            merge_rows: self.segment_merge_rows,
            dedup_window: Duration::from_secs(self.dedup_window_days.saturating_mul(86_400)),
            ..groupd_analytics::segments::CompactionConfig::default()
        }
    }

    /// The capture decoding limits.
    pub fn capture_limits(&self) -> groupd_core::capture::CaptureLimits {
        groupd_core::capture::CaptureLimits {
            max_decompressed_bytes: self.max_decompressed_bytes,
            max_event_bytes: self.max_event_bytes,
        }
    }
}
