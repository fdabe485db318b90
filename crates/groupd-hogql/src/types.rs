//! Column types as reported to clients (ClickHouse names) and as tracked inside the translator.

/// The type of a result column, named the way ClickHouse names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// Text.
    String,
    /// Signed 64-bit integer.
    Int64,
    /// Unsigned 64-bit integer (`count()`, `length`).
    UInt64,
    /// Double.
    Float64,
    /// Booleans, rendered as 0/1 like ClickHouse.
    UInt8,
    /// A calendar day; the cell holds microseconds since the epoch at 00:00 UTC.
    Date,
    /// Microseconds since the epoch, UTC.
    DateTime,
    /// The type of a bare `null`.
    Nothing,
    /// A whole JSON object (`properties`); the cell holds its JSON text.
    Json,
    /// One JSON property value whose type varies per row; the cell holds the value's JSON text.
    /// Decoded per the spec: strings stay strings, numbers numbers (integers when integral),
    /// booleans 0/1 (UInt8), objects and arrays their JSON text, missing/null as null.
    Dynamic,
    /// May be null.
    Nullable(Box<ColumnType>),
}

impl ColumnType {
    /// The ClickHouse type name clients see in `types`.
    pub fn clickhouse_name(&self) -> String {
        match self {
            ColumnType::String | ColumnType::Json | ColumnType::Dynamic => "String".into(),
            ColumnType::Int64 => "Int64".into(),
            ColumnType::UInt64 => "UInt64".into(),
            ColumnType::Float64 => "Float64".into(),
            ColumnType::UInt8 => "UInt8".into(),
            ColumnType::Date => "Date".into(),
            ColumnType::DateTime => "DateTime64(6, 'UTC')".into(),
            ColumnType::Nothing => "Nullable(Nothing)".into(),
            ColumnType::Nullable(inner) => match **inner {
                ColumnType::Nothing | ColumnType::Nullable(_) => inner.clickhouse_name(),
                _ => format!("Nullable({})", inner.clickhouse_name()),
            },
        }
    }

    /// The type without its `Nullable` wrapper.
    pub fn base(&self) -> &ColumnType {
        match self {
            ColumnType::Nullable(inner) => inner.base(),
            other => other,
        }
    }
}

/// Internal scalar type of an expression; nullability is tracked beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Int,
    UInt64,
    Float,
    Bool,
    Date,
    DateTime,
    Null,
    /// The whole `properties` object.
    Json,
    /// One property value.
    Dyn,
}

impl Ty {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Str => "String",
            Ty::Int => "Int64",
            Ty::UInt64 => "UInt64",
            Ty::Float => "Float64",
            Ty::Bool => "UInt8",
            Ty::Date => "Date",
            Ty::DateTime => "DateTime64",
            Ty::Null => "Nothing",
            Ty::Json => "JSON",
            Ty::Dyn => "Dynamic",
        }
    }

    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::UInt64 | Ty::Float | Ty::Bool)
    }

    pub(crate) fn is_intlike(self) -> bool {
        matches!(self, Ty::Int | Ty::UInt64 | Ty::Bool)
    }

    pub(crate) fn is_time(self) -> bool {
        matches!(self, Ty::Date | Ty::DateTime)
    }

    pub(crate) fn column_type(self, nullable: bool) -> ColumnType {
        let base = match self {
            Ty::Str => ColumnType::String,
            Ty::Int => ColumnType::Int64,
            Ty::UInt64 => ColumnType::UInt64,
            Ty::Float => ColumnType::Float64,
            Ty::Bool => ColumnType::UInt8,
            Ty::Date => ColumnType::Date,
            Ty::DateTime => ColumnType::DateTime,
            Ty::Null => return ColumnType::Nothing,
            Ty::Json => ColumnType::Json,
            // A property reads as String to clients; it is null when the key is missing, but
            // PostHog reports it as plain String, so we do too.
            Ty::Dyn => return ColumnType::Dynamic,
        };
        if nullable {
            ColumnType::Nullable(Box::new(base))
        } else {
            base
        }
    }
}
