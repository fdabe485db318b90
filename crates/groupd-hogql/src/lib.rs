//! groupd's HogQL subset: parse a query, check it against the subset, and translate it into
//! SQLite or PostgreSQL over groupd's own schema. Pure: no I/O here.
//!
//! Pipeline: text → sqlparser AST (`parse`, ClickHouse dialect, bounded size and depth) →
//! groupd IR (`check`: names resolved, types inferred, everything outside the subset refused)
//! → SQL text + bound parameters (`emit`, one backend per dialect).
//!
//! Guarantees of [`translate`]'s output:
//! - every literal is a bound parameter; every identifier is groupd's own (generated aliases);
//! - every `events`/`groups` row read is filtered by `project_id = <bound project>`;
//! - the SQL selects at most `limit + 1` rows so the caller can tell `hasMore`;
//! - output cells are integers, floats, text or NULL (times as microseconds); decode each with
//!   [`to_json`] and the column's [`ColumnType`].
//!
//! Inputs never panic and never overflow the stack (checked on a 1 MiB stack); size, nesting
//! and total work are bounded; anything else is a [`QueryError`].
//!
//! Semantics worth knowing (ClickHouse's where it differs from SQL):
//! - `/` is float division; `x / 0`, `x % 0`, `intDiv(x, 0)` are NULL on both backends;
//! - a property (`properties.a.b`) is compared as a number against numbers/booleans and as
//!   text against strings; a value of the other kind does not match; `min`/`max`/`sum`/`avg`
//!   of a property read numbers (use `toString` for text);
//! - ORDER BY a property sorts numbers by value, then other values as text; NULLs sort last;
//! - `toStartOfWeek` starts on Sunday (mode 0); `dateDiff('week', …)` counts Monday
//!   boundaries like ClickHouse's relative week number; all calendar math is in UTC;
//! - `count()`/`uniq` are UInt64, `length` counts bytes; `toInt`/`toFloat` of text that is not
//!   a number give NULL;
//! - case-sensitive `LIKE` with a non-literal pattern falls back to SQLite's ASCII
//!   case-insensitive LIKE (literal patterns are exact via GLOB).
#![warn(missing_docs)]

mod check;
mod emit;
mod error;
mod ir;
mod parse;
mod types;
mod value;

pub use error::QueryError;
pub use types::ColumnType;
pub use value::{SqlValue, to_json};

/// Which SQL the translation targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite ≥ 3.38 (`->` JSON operator), placeholders `?N`.
    Sqlite,
    /// PostgreSQL ≥ 12, placeholders `$N` with explicit casts.
    Postgres,
}

/// Everything a translation depends on besides the text.
#[derive(Debug, Clone)]
pub struct QueryContext {
    /// The project every table is restricted to.
    pub project_id: i64,
    /// `$group_N`/`group_N` exist for N in `0..max_group_types` (at most 64).
    pub max_group_types: u32,
    /// `now()`/`today()`, microseconds since the epoch (UTC).
    pub now_us: i64,
    /// LIMIT when the query has none.
    pub default_limit: u64,
    /// Largest LIMIT honoured; larger ones are lowered to it.
    pub max_limit: u64,
}

impl QueryContext {
    /// A context with the spec's limits (100 by default, at most 50 000) and 5 group types.
    pub fn new(project_id: i64, now_us: i64) -> Self {
        QueryContext {
            project_id,
            max_group_types: 5,
            now_us,
            default_limit: 100,
            max_limit: 50_000,
        }
    }
}

/// A bound parameter value, in placeholder order (`?1`/`$1` is `params[0]`).
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// SQL NULL.
    Null,
    /// 64-bit integer (`int8` on PostgreSQL).
    Int(i64),
    /// Double (`float8` on PostgreSQL).
    Float(f64),
    /// Text.
    Text(String),
}

/// A translated query, ready to run.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The SQL; selects at most `limit + 1` rows.
    pub sql: String,
    /// Values for the placeholders, in order.
    pub params: Vec<Param>,
    /// Output column names.
    pub columns: Vec<String>,
    /// Output column types (decode cells with [`to_json`]; report `clickhouse_name()`).
    pub types: Vec<ColumnType>,
    /// The query as groupd understood it, normalised.
    pub hogql: String,
    /// Effective LIMIT (default applied, capped).
    pub limit: u64,
    /// Effective OFFSET.
    pub offset: u64,
}

/// Translate one HogQL query for `dialect` in the project and time of `ctx`.
pub fn translate(
    query: &str,
    dialect: Dialect,
    ctx: &QueryContext,
) -> Result<Translated, QueryError> {
    let ast = parse::parse(query)?;
    let mut checker = check::Checker::new(ctx);
    let (select, cols, mut hogql) = checker.query(&ast)?;
    drop(ast);
    let limit = select.limit.unwrap_or(ctx.default_limit).min(ctx.max_limit);
    let offset = select.offset.unwrap_or(0);
    hogql.push_str(&format!(" LIMIT {limit}"));
    if offset > 0 {
        hogql.push_str(&format!(" OFFSET {offset}"));
    }
    let mut em = emit::Emitter::new(dialect, ctx.project_id);
    let sql = em.top(&select, limit, offset)?;
    Ok(Translated {
        sql,
        params: em.into_params(),
        columns: cols.iter().map(|c| c.name.clone()).collect(),
        types: cols.iter().map(|c| c.ty.column_type(c.nullable)).collect(),
        hogql,
        limit,
        offset,
    })
}
