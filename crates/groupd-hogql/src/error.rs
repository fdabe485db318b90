//! The one error type: a rejected query. Its `detail` goes to the client verbatim (400).

/// A query groupd will not run, with a sentence saying why and, when known, where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct QueryError {
    /// Human sentence, e.g. `Unknown table 'persons'.`
    pub detail: String,
    /// 1-based line of the offending token, when the parser knows it.
    pub line: Option<u64>,
    /// 1-based column of the offending token, when the parser knows it.
    pub column: Option<u64>,
}

impl QueryError {
    pub(crate) fn new(detail: impl Into<String>) -> Self {
        QueryError {
            detail: detail.into(),
            line: None,
            column: None,
        }
    }

    pub(crate) fn at(detail: impl Into<String>, line: u64, column: u64) -> Self {
        QueryError {
            detail: detail.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, QueryError>;

/// Shorthand for an early `Err(QueryError::new(format!(..)))`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::QueryError::new(format!($($arg)*)))
    };
}
pub(crate) use bail;
