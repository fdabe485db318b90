//! SQLite fragments. Times are INTEGER microseconds; JSON is TEXT; property values travel as
//! their JSON text (`properties -> path`), so their type survives subqueries.

use crate::ir::{Fun, Unit};
use crate::types::Ty;

const D: i64 = 86_400_000_000;

/// A JSON path for `->`, with every key quoted: `$."$browser"."a b"`.
pub(super) fn json_path(keys: &[String]) -> String {
    let mut p = String::from("$");
    for k in keys {
        p.push_str(".\"");
        p.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
        p.push('"');
    }
    p
}

pub(super) fn dyn_num(v: &str) -> String {
    format!(
        "(CASE json_type({v}) WHEN 'integer' THEN json_extract({v}, '$') WHEN 'real' THEN json_extract({v}, '$') WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
    )
}

pub(super) fn text(v: &str, ty: Ty) -> String {
    match ty {
        Ty::Str | Ty::Json => v.to_string(),
        Ty::Null => "NULL".into(),
        Ty::Int | Ty::UInt64 | Ty::Float | Ty::Bool => format!("CAST({v} AS TEXT)"),
        Ty::DateTime => format!(
            "(strftime('%Y-%m-%d %H:%M:%S', (({v}) - ((({v}) % 1000000) + 1000000) % 1000000) / 1000000, 'unixepoch') || printf('.%06d', ((({v}) % 1000000) + 1000000) % 1000000))"
        ),
        Ty::Date => format!("strftime('%Y-%m-%d', ({v}) / 1000000, 'unixepoch')"),
        Ty::Dyn => format!(
            "(CASE json_type({v}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract({v}, '$') AS TEXT) END)"
        ),
    }
}

/// events.uuid is 16 raw bytes; HogQL shows the canonical lowercase hyphenated form.
pub(super) fn uuid_text(c: &str) -> String {
    format!(
        "(CASE WHEN typeof({c}) = 'blob' THEN lower(substr(hex({c}), 1, 8) || '-' || substr(hex({c}), 9, 4) || '-' || substr(hex({c}), 13, 4) || '-' || substr(hex({c}), 17, 4) || '-' || substr(hex({c}), 21, 12)) ELSE lower({c}) END)"
    )
}

fn floor_to(v: &str, unit: i64) -> String {
    format!("(({v}) - ((({v}) % {unit}) + {unit}) % {unit})")
}

fn floor_div(v: &str, unit: i64) -> String {
    format!("({} / {unit})", floor_to(v, unit))
}

pub(super) fn start_of(v: &str, f: Fun) -> String {
    match f {
        Fun::StartOfDay => floor_to(v, D),
        // 1970-01-01 was a Thursday: (days + 4) mod 7 is the weekday counted from Sunday.
        Fun::StartOfWeek => {
            let d = floor_to(v, D);
            format!("({d} - ((((({d}) / {D}) + 4) % 7 + 7) % 7) * {D})")
        }
        _ => format!(
            "(CAST(strftime('%s', ({v}) / 1000000, 'unixepoch', 'start of month') AS INTEGER) * 1000000)"
        ),
    }
}

fn year_month(v: &str) -> (String, String) {
    (
        format!("CAST(strftime('%Y', ({v}) / 1000000, 'unixepoch') AS INTEGER)"),
        format!("CAST(strftime('%m', ({v}) / 1000000, 'unixepoch') AS INTEGER)"),
    )
}

/// Unit boundaries crossed from a to b, like ClickHouse's dateDiff.
pub(super) fn date_diff(unit: Unit, a: &str, b: &str) -> String {
    match unit {
        // Weeks start on Monday for dateDiff (ClickHouse's relative week number).
        Unit::Week => {
            let shift = 3 * D;
            let w = 7 * D;
            format!(
                "({} - {})",
                floor_div(&format!("({b}) + {shift}"), w),
                floor_div(&format!("({a}) + {shift}"), w)
            )
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let (ya, ma) = year_month(a);
            let (yb, mb) = year_month(b);
            match unit {
                Unit::Month => format!("(({yb} * 12 + {mb}) - ({ya} * 12 + {ma}))"),
                Unit::Quarter => {
                    format!("(({yb} * 4 + ({mb} - 1) / 3) - ({ya} * 4 + ({ma} - 1) / 3))")
                }
                _ => format!("({yb} - {ya})"),
            }
        }
        fixed => {
            let u = fixed.fixed_us().unwrap_or(1);
            format!("({} - {})", floor_div(b, u), floor_div(a, u))
        }
    }
}

pub(super) fn shift(t: &str, n: &str, unit: Unit) -> String {
    match unit.fixed_us() {
        Some(u) => format!("({t} + ({n}) * {u})"),
        None => format!(
            "(CAST(strftime('%s', ({t}) / 1000000, 'unixepoch', CAST(({n}) * {} AS TEXT) || ' months') AS INTEGER) * 1000000 + ((({t}) % 1000000) + 1000000) % 1000000)",
            unit.months()
        ),
    }
}

/// Text → number, NULL when the text is not a number (ClickHouse's …OrNull behaviour).
pub(super) fn parse_num(v: &str, int: bool) -> String {
    if int {
        format!(
            "(CASE WHEN ltrim(trim({v}), '+-') <> '' AND ltrim(trim({v}), '+-') NOT GLOB '*[^0-9]*' AND length(trim({v})) - length(ltrim(trim({v}), '+-')) <= 1 THEN CAST(trim({v}) AS INTEGER) END)"
        )
    } else {
        format!(
            "(CASE WHEN trim({v}) GLOB '*[0-9]*' AND trim({v}) NOT GLOB '*[^0-9eE.+-]*' THEN CAST(trim({v}) AS REAL) END)"
        )
    }
}

/// ClickHouse LIKE (`%`, `_`, `\` escapes) as a case-sensitive GLOB pattern.
pub(super) fn like_to_glob(p: &str) -> String {
    let mut out = String::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '\\' => match chars.next() {
                Some(n) => push_glob_literal(&mut out, n),
                None => push_glob_literal(&mut out, '\\'),
            },
            c => push_glob_literal(&mut out, c),
        }
    }
    out
}

fn push_glob_literal(out: &mut String, c: char) {
    match c {
        '*' | '?' | '[' => {
            out.push('[');
            out.push(c);
            out.push(']');
        }
        c => out.push(c),
    }
}

/// argMax/argMin without window functions: encode the ordering value so that text order
/// matches value order, append the argument, take max/min, strip the key off again.
pub(super) fn arg_max(x: &str, xty: Ty, y: &str, yty: Ty, max: bool) -> String {
    let key = match yty {
        Ty::Str => y.to_string(),
        _ => format!(
            "(CASE WHEN {y} < 0 THEN '0' || printf('%019d', {y} + 9223372036854775807) ELSE '1' || printf('%019d', {y}) END)"
        ),
    };
    let val = match xty {
        Ty::Str | Ty::Dyn | Ty::Json => x.to_string(),
        _ => format!("CAST({x} AS TEXT)"),
    };
    let f = if max { "max" } else { "min" };
    let m = format!("{f}({key} || char(1) || {val})");
    let raw = format!("substr({m}, instr({m}, char(1)) + 1)");
    match xty {
        Ty::Int | Ty::UInt64 | Ty::Bool | Ty::Date | Ty::DateTime => {
            format!("CAST({raw} AS INTEGER)")
        }
        Ty::Float => format!("CAST({raw} AS REAL)"),
        _ => raw,
    }
}
