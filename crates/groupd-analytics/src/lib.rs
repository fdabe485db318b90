pub mod schema;
pub mod segments;
