//! Black-box tests of groupd's REST API: the real binary, a real database, real HTTP.
mod helpers;

mod groups;
mod ops;
mod capture;
mod auth;
mod group_types;
mod projects;
mod robustness;
mod multi_process;
