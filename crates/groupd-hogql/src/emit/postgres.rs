//! PostgreSQL fragments. Times are TIMESTAMPTZ (converted to microseconds only on output),
//! property values are JSONB, truth values are real booleans. Every placeholder carries a cast
//! so the server never has to guess a parameter's type.

use crate::Param;
use crate::ir::{Fun, Unit};
use crate::types::Ty;

pub(super) fn placeholder(n: usize, p: &Param) -> String {
    match p {
        Param::Null => format!("${n}"),
        Param::Int(_) => format!("${n}::int8"),
        Param::Float(_) => format!("${n}::float8"),
        Param::Text(_) => format!("${n}::text"),
    }
}

pub(super) fn time_from_us(p: &str) -> String {
    format!("(TIMESTAMPTZ 'epoch' + {p} * INTERVAL '1 microsecond')")
}

/// Output cells: int8, float8 or text only (times as microseconds since the epoch).
pub(super) fn out(v: &str, ty: Ty) -> String {
    match ty {
        Ty::Date | Ty::DateTime => format!("(extract(epoch from {v}) * 1000000)::int8"),
        Ty::Bool => format!("({v})::int::int8"),
        Ty::Int | Ty::UInt64 => format!("({v})::int8"),
        Ty::Float => format!("({v})::float8"),
        Ty::Str | Ty::Dyn | Ty::Json => format!("({v})::text"),
        Ty::Null => "NULL::text".into(),
    }
}

pub(super) fn dyn_num(v: &str) -> String {
    format!(
        "(CASE jsonb_typeof({v}) WHEN 'number' THEN ({v} #>> '{{}}')::numeric WHEN 'boolean' THEN (CASE WHEN ({v} #>> '{{}}') = 'true' THEN 1 ELSE 0 END) END)"
    )
}

pub(super) fn text(v: &str, ty: Ty) -> String {
    match ty {
        Ty::Str => v.to_string(),
        Ty::Null => "NULL".into(),
        Ty::Int | Ty::UInt64 | Ty::Float | Ty::Json => format!("({v})::text"),
        Ty::Bool => format!("({v})::int::text"),
        Ty::DateTime => format!("to_char(({v}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"),
        Ty::Date => format!("to_char(({v}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        Ty::Dyn => format!("({v} #>> '{{}}')"),
    }
}

pub(super) fn start_of(v: &str, f: Fun) -> String {
    match f {
        Fun::StartOfDay => {
            format!("(date_trunc('day', ({v}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')")
        }
        // PostgreSQL weeks start on Monday; shift by a day for ClickHouse's Sunday weeks.
        Fun::StartOfWeek => format!(
            "((date_trunc('week', ({v}) AT TIME ZONE 'UTC' + INTERVAL '1 day') - INTERVAL '1 day') AT TIME ZONE 'UTC')"
        ),
        _ => format!("(date_trunc('month', ({v}) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"),
    }
}

pub(super) fn date_diff(unit: Unit, a: &str, b: &str) -> String {
    let ep = |x: &str| format!("extract(epoch from {x})");
    match unit {
        Unit::Week => format!(
            "(floor(({} + 259200) / 604800) - floor(({} + 259200) / 604800))::int8",
            ep(b),
            ep(a)
        ),
        Unit::Month | Unit::Quarter | Unit::Year => {
            let part = |f: &str, x: &str| format!("extract({f} from ({x}) AT TIME ZONE 'UTC')");
            match unit {
                Unit::Month => format!(
                    "(({} * 12 + {}) - ({} * 12 + {}))::int8",
                    part("year", b),
                    part("month", b),
                    part("year", a),
                    part("month", a)
                ),
                Unit::Quarter => format!(
                    "(({} * 4 + {}) - ({} * 4 + {}))::int8",
                    part("year", b),
                    part("quarter", b),
                    part("year", a),
                    part("quarter", a)
                ),
                _ => format!("({} - {})::int8", part("year", b), part("year", a)),
            }
        }
        fixed => {
            let s = fixed.fixed_us().unwrap_or(1_000_000) / 1_000_000;
            format!("(floor({} / {s}) - floor({} / {s}))::int8", ep(b), ep(a))
        }
    }
}

pub(super) fn shift(t: &str, n: &str, unit: Unit) -> String {
    match unit.fixed_us() {
        Some(u) => format!("({t} + (({n}) * {u}) * INTERVAL '1 microsecond')"),
        // Calendar arithmetic in UTC, not the session time zone.
        None => format!(
            "((({t}) AT TIME ZONE 'UTC' + ({n}) * {} * INTERVAL '1 month') AT TIME ZONE 'UTC')",
            unit.months()
        ),
    }
}

/// Text → number, NULL unless the whole text is a number (never a cast error).
pub(super) fn parse_num(v: &str, int: bool) -> String {
    if int {
        format!("(CASE WHEN {v} ~ '^\\s*[-+]?[0-9]{{1,18}}\\s*$' THEN btrim({v})::int8 END)")
    } else {
        format!(
            "(CASE WHEN {v} ~ '^\\s*[-+]?([0-9]{{1,200}}(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]{{1,2}})?\\s*$' THEN btrim({v})::float8 END)"
        )
    }
}
