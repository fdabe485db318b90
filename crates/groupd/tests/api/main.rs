//! Black-box tests of groupd: real HTTP to the real router on a real database (a temporary
//! SQLite file here; `api_pg.rs` runs the same modules on PostgreSQL).
mod helpers;

mod auth;
mod backpressure;
mod backup;
mod capture;
mod changes;
mod corpus;
mod cors;
mod crash;
mod deletion;
mod export_import;
mod faults;
mod fuzz;
mod group_types;
mod groups;
mod history;
mod keys;
mod lifecycle_routes;
mod limits;
mod multi_process;
mod newcomer;
mod ops;
mod oracle;
mod posthog_import;
mod projects;
mod property_definitions;
mod query;
mod readme;
mod reference;
mod related;
mod robustness;
mod sdk;
mod segments;
mod ui;
mod usage_metrics;
