//! The black-box tests of `api/` on PostgreSQL: the same modules, another test target (the
//! harness picks the backend by the target's name).
#[path = "api/helpers/mod.rs"]
mod helpers;

#[path = "api/auth.rs"]
mod auth;
#[path = "api/backpressure.rs"]
mod backpressure;
#[path = "api/backup.rs"]
mod backup;
#[path = "api/capture.rs"]
mod capture;
#[path = "api/changes.rs"]
mod changes;
#[path = "api/corpus.rs"]
mod corpus;
#[path = "api/cors.rs"]
mod cors;
#[path = "api/crash.rs"]
mod crash;
#[path = "api/deletion.rs"]
mod deletion;
#[path = "api/export_import.rs"]
mod export_import;
#[path = "api/fuzz.rs"]
mod fuzz;
#[path = "api/group_types.rs"]
mod group_types;
#[path = "api/groups.rs"]
mod groups;
#[path = "api/history.rs"]
mod history;
#[path = "api/keys.rs"]
mod keys;
#[path = "api/lifecycle_routes.rs"]
mod lifecycle_routes;
#[path = "api/multi_process.rs"]
mod multi_process;
#[path = "api/openapi.rs"]
mod openapi;
#[path = "api/ops.rs"]
mod ops;
#[path = "api/oracle.rs"]
mod oracle;
#[path = "api/posthog_import.rs"]
mod posthog_import;
#[path = "api/projects.rs"]
mod projects;
#[path = "api/property_definitions.rs"]
mod property_definitions;
#[path = "api/query.rs"]
mod query;
#[path = "api/related.rs"]
mod related;
#[path = "api/robustness.rs"]
mod robustness;
#[path = "api/sdk.rs"]
mod sdk;
#[path = "api/segments.rs"]
mod segments;
#[path = "api/tls.rs"]
mod tls;
#[path = "api/ui.rs"]
mod ui;
#[path = "api/usage_metrics.rs"]
mod usage_metrics;
