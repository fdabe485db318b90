//! HogQL over a project's events and groups, answered by Apache DataFusion: the events table
//! is the snapshot's Parquet segments plus its hot tail, the HogQL tree is rewritten into one
//! DataFusion plans with HogQL's semantics (two-valued comparisons, typed property reads,
//! ClickHouse functions as UDFs, implicit group joins).
pub mod engine;
mod hogql;
pub mod schema;
pub mod segments;
mod udf;

pub use engine::{
    Engine, EngineError, QueryAnswer, QueryRequest, RelatedEvents, RelatedRequest, SeenPerson,
};
