//! Black-box tests of groupd: real HTTP to the real router on a real database (a temporary
//! SQLite file here; `api_pg.rs` runs the same modules on PostgreSQL).
mod helpers;

mod auth;
mod backpressure;
mod capture;
mod corpus;
mod crash;
mod group_types;
mod groups;
mod multi_process;
mod ops;
mod oracle;
mod projects;
mod query;
mod robustness;
mod sdk;
