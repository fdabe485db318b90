//! Black-box tests of groupd's REST API: the real binary, a real database, real HTTP.
mod helpers;

mod auth;
mod backpressure;
mod capture;
mod crash;
mod group_types;
mod groups;
mod multi_process;
mod ops;
mod projects;
mod query;
mod robustness;
mod sdk;
