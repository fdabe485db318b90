//! groupd's HTTP server: the REST API, capture, the HogQL query endpoint and the operational
//! endpoints, on any [`groupd_store::Store`].
pub mod config;
pub mod exchange;
pub mod http;
mod serve;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ui;

pub use config::{CommonConfig, LogFormat, ServeConfig};
pub use startup::Application;
