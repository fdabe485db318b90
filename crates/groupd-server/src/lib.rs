//! groupd's HTTP server: the REST API, operational endpoints, and (later) capture and query.
pub mod config;
pub mod http;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use config::{CommonConfig, LogFormat, ServeConfig};
pub use startup::Application;
